"""The history import tables (``chassis.history_jobs``), as the services' revisions
that added them create them: the job, its per-record outcomes, and the ledger of the
records taken once per (tenant, section, key).

Frozen with the revisions that call them, like ``privacy_tables.py``: change these
tables in a new revision of each service, never here. ``IF NOT EXISTS``: a database the
code's own DDL created before it was first migrated has them already.
"""

from __future__ import annotations

from alembic import op


def create_history_tables() -> None:
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS history_jobs (
            job_id TEXT NOT NULL,
            tenant TEXT NOT NULL,
            idempotency_key TEXT,
            fingerprint TEXT NOT NULL,
            actor TEXT NOT NULL,
            dry_run INTEGER NOT NULL,
            status TEXT NOT NULL,
            counts TEXT NOT NULL,
            error TEXT,
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ,
            PRIMARY KEY (job_id)
        )
        """
    )
    op.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS history_jobs_idempotency "
        "ON history_jobs (tenant, idempotency_key)"
    )
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS history_job_records (
            job_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            tenant TEXT NOT NULL,
            section TEXT NOT NULL,
            key TEXT NOT NULL,
            outcome TEXT NOT NULL,
            error TEXT,
            entity_id TEXT,
            PRIMARY KEY (job_id, seq)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS history_records (
            tenant TEXT NOT NULL,
            section TEXT NOT NULL,
            key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            job_id TEXT NOT NULL,
            recorded_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (tenant, section, key)
        )
        """
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS history_records_entity "
        "ON history_records (tenant, entity_id)"
    )


def drop_history_tables() -> None:
    op.execute("DROP TABLE history_records")
    op.execute("DROP TABLE history_job_records")
    op.execute("DROP TABLE history_jobs")
