"""A programme's history, matching's part (pairings, ids resolved), imported as a job:
start it, follow it, page through what happened to each record
(``chassis.http.history``)."""

from __future__ import annotations

from chassis.http.history import history_router
from contracts.api.history import (
    HistoryImportJob,
    HistoryOutcome,
    HistoryRecordPage,
    MatchingHistoryIn,
)
from services.matching.application.history import MatchingHistory

router = history_router(
    prefix="/history-imports",
    tags=["history imports"],
    application=MatchingHistory,
    body=MatchingHistoryIn,
    job_model=HistoryImportJob,
    page_model=HistoryRecordPage,
    outcomes=HistoryOutcome,
    start_doc="Import past and running pairings (coordinators, admins); 202 with the job.",
    records_doc="What happened (or, in a dry run, would happen) to each record, "
    "in order.",
)
