"""A pairing's effective start: ``pairings.starts_on``.

Revision ID: 0005
Revises: 0004

The day a coordinator set on approval as the relationship's start (an ISO date;
null: it starts when confirmed), carried by ``PairingConfirmed``. Pairings approved
before this revision have none (their approvals set no date). The column is nullable,
so the embedded mode's tables need no change beyond the code's DDL.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE pairings ADD COLUMN starts_on TEXT")


def downgrade() -> None:
    op.execute("ALTER TABLE pairings DROP COLUMN starts_on")
