"""A programme's history, matching's part (pairings, ids resolved), imported as a job:
start it, follow it, page through what happened to each record."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from chassis.http.openapi import problems
from chassis.inputs import Name, NonNegative, Ref
from contracts.api.history import (
    HistoryImportJob,
    HistoryOutcome,
    HistoryRecordPage,
    MatchingHistoryIn,
)
from services.matching.api.deps import HistoryDep, PrincipalDep

router = APIRouter(prefix="/history-imports", tags=["history imports"])

WAIT_S = 60.0  # ``?wait=true`` answers within this, finished or not


@router.post(
    "",
    status_code=202,
    responses={
        200: {"model": HistoryImportJob, "description": "Finished (`wait=true`)"},
        **problems(403),
    },
)
async def start_history_import(
    body: MatchingHistoryIn,
    request: Request,
    response: Response,
    principal: PrincipalDep,
    history: HistoryDep,
    dry_run: Annotated[
        bool, Query(description="Validate and report; write nothing")
    ] = False,
    wait: Annotated[
        bool, Query(description="Answer once finished (within a minute)")
    ] = False,
    idempotency_key: Annotated[Name | None, Header()] = None,
) -> HistoryImportJob:
    """Import past and running pairings (coordinators, admins); 202 with the job."""
    job_id, replayed = await history.submit(
        principal, body, dry_run=dry_run, idempotency_key=idempotency_key
    )
    if wait:
        await history.wait(job_id, WAIT_S)
    job = await history.job(principal, job_id, replayed=replayed)
    response.headers["Location"] = request.url_for("history_import", job_id=job_id).path
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    if wait and job.status in ("succeeded", "failed"):
        response.status_code = 200
    return job


@router.get("/{job_id}", name="history_import", responses=problems(403, 404))
async def history_import(
    job_id: Ref, principal: PrincipalDep, history: HistoryDep
) -> HistoryImportJob:
    """A history import's status and counts per section."""
    return await history.job(principal, job_id)


@router.get("/{job_id}/records", responses=problems(403, 404))
async def history_import_records(
    job_id: Ref,
    principal: PrincipalDep,
    history: HistoryDep,
    outcome: Annotated[HistoryOutcome | None, Query()] = None,
    after: Annotated[
        NonNegative, Query(description="Cursor: the `next` of the last page")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> HistoryRecordPage:
    """What happened (or, in a dry run, would happen) to each record, in order."""
    return await history.records(
        principal, job_id, outcome=outcome, after=after, limit=limit
    )
