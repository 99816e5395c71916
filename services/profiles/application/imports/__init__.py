"""Bulk import of people from an HRIS export (Workday, SuccessFactors, BambooHR).

An import is a job. ``Imports.submit`` records it (once per idempotency key) and runs it
in the background. Every record is checked first - its shape, then the domain's own
rules - so a dry run can say what would happen without writing anything. The valid
records are then applied chunk by chunk, each person through the ordinary ``Profiles``
commands: a new employee is registered, a changed one updated (the domain turns a level
or title change into a career outcome), a leaver deactivated with reason "departure".
A record that matches the person as they are appends nothing, so re-sending a batch
is harmless. Progress, counts and per-record outcomes are kept in the service's own
tables, so the report outlives the request that started the job.
"""

from __future__ import annotations

from services.profiles.application.imports.errors import (
    IdempotencyKeyReused,
    ImportTooLarge,
    UnreadableImport,
)
from services.profiles.application.imports.jobs import (
    FINISHED,
    OUTCOMES,
    Outcome,
    fingerprint,
)
from services.profiles.application.imports.plan import Known, Plan
from services.profiles.application.imports.records import (
    RECORD_FIELDS,
    HrisRecord,
    Record,
    validate,
    validate_all,
)
from services.profiles.application.imports.runner import (
    CHUNK_SIZE,
    DETAIL_FIELDS,
    MAX_RECORDS,
    PARALLELISM,
    STALE_AFTER,
    Imports,
)

__all__ = [
    "CHUNK_SIZE",
    "DETAIL_FIELDS",
    "FINISHED",
    "MAX_RECORDS",
    "OUTCOMES",
    "PARALLELISM",
    "RECORD_FIELDS",
    "STALE_AFTER",
    "HrisRecord",
    "IdempotencyKeyReused",
    "ImportTooLarge",
    "Imports",
    "Known",
    "Outcome",
    "Plan",
    "Record",
    "UnreadableImport",
    "fingerprint",
    "validate",
    "validate_all",
]
