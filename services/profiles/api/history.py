"""A programme's history, profiles' part (cohorts, career outcomes), imported as a job:
start it, follow it, page through what happened to each record
(``chassis.http.history``)."""

from __future__ import annotations

from chassis.http.history import history_router
from contracts.api.history import (
    HistoryImportJob,
    HistoryOutcome,
    HistoryRecordPage,
    ProfilesHistoryIn,
)
from services.profiles.application.history import ProfilesHistory

router = history_router(
    prefix="/history-imports",
    tags=["history imports"],
    application=ProfilesHistory,
    body=ProfilesHistoryIn,
    job_model=HistoryImportJob,
    page_model=HistoryRecordPage,
    outcomes=HistoryOutcome,
    start_doc="Import past cohorts and career outcomes (coordinators, admins); 202 with the job.",
    records_doc="What happened (or, in a dry run, would happen) to each record, "
    "in order.",
)
