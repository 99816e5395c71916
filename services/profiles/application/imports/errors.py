"""The errors of an import as a whole (a record's own problems are its outcome)."""

from __future__ import annotations

from chassis.errors import TandemError


class ImportTooLarge(TandemError):
    code = "ImportTooLarge"
    status = 413
    title = "Import too large"


class UnreadableImport(TandemError):
    """The body could not be read as JSON or CSV at all (nothing was imported)."""

    code = "UnreadableImport"
    status = 422
    title = "Import could not be read"


class IdempotencyKeyReused(TandemError):
    code = "IdempotencyKeyReused"
    status = 422
    title = "Idempotency key reused for a different import"
