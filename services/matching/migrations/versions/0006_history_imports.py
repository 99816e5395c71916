"""History imports (issue 20): ``history_jobs``, ``history_job_records``, ``history_records``.

Revision ID: 0006
Revises: 0005

The chassis's history import tables (``chassis.history_jobs``): a job of
``POST /history-imports``, its per-record outcomes, and the ledger that takes each
record of a programme's history once per (tenant, section, key).
"""

from __future__ import annotations

from chassis.migrations.history_tables import (
    create_history_tables,
    drop_history_tables,
)

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    create_history_tables()


def downgrade() -> None:
    drop_history_tables()
