"""The answers of the services' programme-history import jobs (issue 20).

profiles, matching and sessions each run ``POST /history-imports`` for the sections
they own and answer these same shapes (the contract in ``docs/history-import.md``);
the gateway reads them here to merge one per-record report.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

JobStatus = Literal["queued", "running", "succeeded", "failed"]
RecordOutcome = Literal["created", "unchanged", "failed", "would_create"]

FINISHED: frozenset[str] = frozenset({"succeeded", "failed"})


class HistoryImportAccepted(BaseModel):
    """``202`` to ``POST /history-imports``: the job to follow."""

    job_id: str
    status: JobStatus


class SectionCounts(BaseModel):
    created: int = 0
    unchanged: int = 0
    failed: int = 0
    would_create: int = 0


class HistoryImportJob(BaseModel):
    """``GET /history-imports/{job_id}``."""

    job_id: str
    status: JobStatus
    dry_run: bool
    counts: dict[str, SectionCounts] = Field(
        default_factory=dict, description="Records by section and outcome"
    )
    error: str | None = Field(None, description="Why the job as a whole failed")


class HistoryRecordError(BaseModel):
    code: str = Field(description="e.g. `conflict`, `unknown_person`")
    field: str | None = Field(None, description="The record's field at fault")
    message: str


class HistoryRecord(BaseModel):
    """What became of one record of the document."""

    section: str
    key: str
    outcome: RecordOutcome
    error: HistoryRecordError | None = None
    id: str | None = Field(None, description="The created (or found) entity's id")


class HistoryRecordPage(BaseModel):
    items: list[HistoryRecord]
    next: str | int | None = Field(None, description="Cursor of the next page")
