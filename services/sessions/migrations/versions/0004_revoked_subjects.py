"""Revoked subjects: the tokens of erased and deactivated people are refused.

Revision ID: 0004
Revises: 0003

The chassis's revocation view (``chassis.auth.revocation``), fed by profiles'
``PersonErased``, ``PersonDeactivated`` and ``PersonReactivated``. People erased
or deactivated before this revision are not in it (no event brings them back).
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE revoked_subjects (
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
