"""Programme history import: start a job (``POST /sessions/history-imports``), follow
it, read what happened to each record (``chassis.http.history``). A body that is no
document of sections, or holds a record not of its section's shape, is refused whole
(422, nothing started); a record that breaks a rule of the domain fails alone."""

from __future__ import annotations

from chassis.http.history import history_router, read_sections, sections_body
from contracts.api.sessions import (
    HistoryImportJob,
    HistoryOutcome,
    HistoryRecordPage,
    HistorySection,
)
from services.sessions.application.history import (
    MAX_RECORDS,
    MODELS,
    HistoryImports,
)

FORMAT = "tandem.programme-history/1"
SECTION_RECORDS = 5_000  # per section of one import (a body is at most 1 MiB)


def sections_of(data: bytes) -> dict[str, list[object]]:
    """The sections of the body, each a list of records (unread)."""
    models = {s.value: MODELS[s] for s in HistorySection}
    return read_sections(data, models, FORMAT, SECTION_RECORDS)


router = history_router(
    prefix="/sessions/history-imports",
    tags=["history"],
    application=HistoryImports,
    parse=sections_of,
    body_schema=sections_body(
        {s.value: model for s, model in MODELS.items()},
        FORMAT,
        f"The sessions' sections of a `{FORMAT}` document (at most {MAX_RECORDS} "
        "records in all); every section is optional",
        SECTION_RECORDS,
    ),
    authorise=lambda history, principal: history.authorise(principal),
    job_model=HistoryImportJob,
    page_model=HistoryRecordPage,
    outcomes=HistoryOutcome,
    start_problems=(403, 413),
    wait_doc="Answer with the finished job (small documents)",
    start_doc="Import a programme's past contracts, sessions, milestones, feedback "
    "and\ncheck-ins (coordinators, admins); 202 with the job.",
    records_doc="What happened (or, in a dry run, would happen) to each record.",
)
