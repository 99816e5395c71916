"""Programme history import: start a job (``POST /sessions/history-imports``), follow
it, read what happened to each record (``chassis.http.history``). The body is read
record by record: a malformed record fails alone, a body that is no document of
sections is refused whole."""

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


def sections_of(data: bytes) -> dict[str, list[object]]:
    """The sections of the body, each a list of records (unread)."""
    return read_sections(data, (s.value for s in HistorySection), FORMAT)


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
