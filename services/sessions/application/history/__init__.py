"""Programme history import (``POST /sessions/history-imports``): an organisation's
past contracts, sessions, milestones, feedback and check-ins, recorded after the fact
through the same aggregates and events as live writes, dated when they happened.

``records.py`` holds the records' shapes and how a refusal is reported, ``writer.py``
decides and saves a chunk, ``jobs.py`` feeds the chassis's jobs
(``chassis.history_jobs``), which run and report them.
"""

from __future__ import annotations

from services.sessions.application.history.jobs import (
    CHUNK_SIZE,
    FINISHED,
    MAX_RECORDS,
    HistoryImports,
    HistoryImportTooLarge,
    IdempotencyKeyReused,
)
from services.sessions.application.history.records import MODELS, SECTIONS
from services.sessions.application.history.writer import HistoryWriter

__all__ = [
    "CHUNK_SIZE",
    "FINISHED",
    "MAX_RECORDS",
    "MODELS",
    "SECTIONS",
    "HistoryImportTooLarge",
    "HistoryImports",
    "HistoryWriter",
    "IdempotencyKeyReused",
]
