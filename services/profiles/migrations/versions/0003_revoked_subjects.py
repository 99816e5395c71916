"""Revoked subjects: the tokens of erased and deactivated people are refused.

Revision ID: 0003
Revises: 0002

The chassis's revocation view (``chassis.auth.revocation``), written in the
transaction that appends profiles' own ``PersonErased``, ``PersonDeactivated`` and
``PersonReactivated``. People erased or deactivated before this revision are not in
it (profiles still refuses an erased person: their row is gone from every query).
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # IF NOT EXISTS: a database the code's own DDL created before migrations (stamped
    # at 0001 when first migrated) has the table already.
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS revoked_subjects (
            tenant TEXT NOT NULL,
            subject TEXT NOT NULL,
            reason TEXT NOT NULL,
            revoked_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
            PRIMARY KEY (tenant, subject)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE revoked_subjects")
