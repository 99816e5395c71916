"""Programme history imports: the jobs, their per-record outcomes, the keys imported.

Revision ID: 0007
Revises: 0006

``history_import_jobs`` holds a ``POST /sessions/history-imports`` job (status, counts
per section); ``history_import_records`` what happened to each record;
``history_imported`` what each (tenant, section, key) of an organisation's file
became and a digest of its content, so re-importing it is a no-op and importing other
content under the same key a per-record conflict.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE history_import_jobs (
            job_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            idempotency_key TEXT,
            fingerprint TEXT NOT NULL,
            actor TEXT NOT NULL,
            dry_run INTEGER NOT NULL,
            status TEXT NOT NULL,
            total INTEGER NOT NULL,
            counts TEXT NOT NULL,
            error TEXT,
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ
        )
        """
    )
    op.execute(
        "CREATE UNIQUE INDEX history_import_jobs_key "
        "ON history_import_jobs (tenant, idempotency_key)"
    )
    op.execute(
        """
        CREATE TABLE history_import_records (
            job_id TEXT NOT NULL,
            record_no INTEGER NOT NULL,
            tenant TEXT NOT NULL,
            section TEXT NOT NULL,
            record_key TEXT,
            outcome TEXT NOT NULL,
            entity_id TEXT,
            error TEXT,
            PRIMARY KEY (job_id, record_no)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE history_imported (
            tenant TEXT NOT NULL,
            section TEXT NOT NULL,
            record_key TEXT NOT NULL,
            digest TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            job_id TEXT NOT NULL,
            PRIMARY KEY (tenant, section, record_key)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE history_imported")
    op.execute("DROP TABLE history_import_records")
    op.execute("DROP TABLE history_import_jobs")
