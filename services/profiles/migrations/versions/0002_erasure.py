"""Erasure receipts; import tables created at start; no raw idempotency key kept.

Revision ID: 0002
Revises: 0001

The import tables used to be created on the first import (so a database may already
have them); the start now creates them, with every other table, so the erasure
registry's test sees every table the service has. Idempotency keys are stored as keyed
hashes from now on: a key stored before (perhaps an employee id) is cleared, which
only means that a retry of such an old import starts a new job.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS import_jobs (
            job_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            idempotency_key TEXT,
            fingerprint TEXT NOT NULL,
            actor TEXT NOT NULL,
            dry_run INTEGER NOT NULL,
            source_format TEXT NOT NULL,
            status TEXT NOT NULL,
            total INTEGER NOT NULL,
            processed INTEGER NOT NULL DEFAULT 0,
            counts TEXT NOT NULL,
            error TEXT,
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ
        )
        """
    )
    op.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS import_jobs_key "
        "ON import_jobs (tenant, idempotency_key)"
    )
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS import_records (
            job_id TEXT NOT NULL,
            record_no INTEGER NOT NULL,
            tenant TEXT NOT NULL,
            employee_id TEXT,
            outcome TEXT NOT NULL,
            person_id TEXT,
            changes TEXT NOT NULL DEFAULT '[]',
            error TEXT,
            PRIMARY KEY (job_id, record_no)
        )
        """
    )
    op.execute("UPDATE import_jobs SET idempotency_key = NULL")
    op.execute(
        """
        CREATE TABLE erasure_receipts (
            person_id TEXT NOT NULL,
            store TEXT NOT NULL,
            tenant TEXT NOT NULL,
            action TEXT NOT NULL,
            erased_at TIMESTAMPTZ NOT NULL,
            confirmed_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (person_id, store)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE erasure_receipts")
    op.execute("DROP TABLE import_records")
    op.execute("DROP TABLE import_jobs")
