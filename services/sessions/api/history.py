"""Programme history import: start a job (``POST /sessions/history-imports``), follow
it, read what happened to each record."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response

from chassis.errors import FieldError, ValidationFailed
from chassis.http.openapi import problems
from chassis.inputs import Name, NonNegative, Ref
from contracts.api.sessions import (
    HistoryImportJob,
    HistoryOutcome,
    HistoryRecordPage,
    HistorySection,
)
from services.sessions.api.deps import HistoryDep, PrincipalDep
from services.sessions.application.history import FINISHED, MAX_RECORDS, MODELS

router = APIRouter(prefix="/sessions/history-imports", tags=["history"])

WAIT_S = 60.0  # ``?wait=true`` answers within this, finished or not
FORMAT = "tandem.programme-history/1"


def sections_of(data: bytes) -> dict[HistorySection, list[object]]:
    """The sections of the body, each a list of records (their shape is checked
    record by record: a bad record fails alone)."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed(
            [FieldError("body", f"the body is not valid JSON: {exc}")]
        ) from exc
    if not isinstance(doc, dict):
        raise ValidationFailed(
            [FieldError("body", "expected a JSON object of sections")]
        )
    problems_ = [
        FieldError(k, "unknown member")
        for k in sorted(doc)
        if k != "format" and k not in set(HistorySection)
    ]
    if "format" in doc and doc["format"] != FORMAT:
        problems_.append(FieldError("format", f"expected {FORMAT!r}"))
    sections: dict[HistorySection, list[object]] = {}
    for section in HistorySection:
        value = doc.get(section.value, [])
        if not isinstance(value, list):
            problems_.append(FieldError(section.value, "expected an array of records"))
            continue
        sections[section] = value
    if problems_:
        raise ValidationFailed(problems_)
    return sections


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its local ``$defs`` written in place (the OpenAPI document
    has no ``$defs`` for it to point at)."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved = resolve(schema)
    assert isinstance(resolved, dict)
    return resolved


_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": f"The sessions' sections of a `{FORMAT}` "
                    f"document (at most {MAX_RECORDS} records in all); every "
                    "section is optional",
                    "properties": {
                        "format": {"type": "string", "enum": [FORMAT]},
                        **{
                            section.value: {
                                "type": "array",
                                "items": _inlined(
                                    model.model_json_schema(by_alias=True)
                                ),
                            }
                            for section, model in MODELS.items()
                        },
                    },
                    "additionalProperties": False,
                }
            }
        },
    }
}


@router.post(
    "",
    status_code=202,
    openapi_extra=_BODY,
    responses={
        200: {"model": HistoryImportJob, "description": "Finished (`wait=true`)"},
        **problems(403, 413),
    },
)
async def start_history_import(
    request: Request,
    response: Response,
    principal: PrincipalDep,
    history: HistoryDep,
    dry_run: Annotated[
        bool, Query(description="Validate and report; write nothing")
    ] = False,
    wait: Annotated[
        bool, Query(description="Answer with the finished job (small documents)")
    ] = False,
    idempotency_key: Annotated[Name | None, Header()] = None,
) -> HistoryImportJob:
    """Import a programme's past contracts, sessions, milestones, feedback and
    check-ins (coordinators, admins); 202 with the job."""
    history.authorise(principal)
    sections = sections_of(await request.body())
    job_id, replayed = await history.submit(
        principal, sections, dry_run=dry_run, idempotency_key=idempotency_key
    )
    if wait:
        await history.wait(job_id, WAIT_S)
    job = await history.job(principal, job_id)
    job.replayed = replayed
    response.headers["Location"] = request.url_for("history_import", job_id=job_id).path
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    if wait and job.status in FINISHED:
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
    """What happened (or, in a dry run, would happen) to each record."""
    return await history.records(
        principal, job_id, outcome=outcome, after=after, limit=limit
    )
