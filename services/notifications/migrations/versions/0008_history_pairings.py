"""The pairings of a programme's history, whose events tell nobody.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE notification_history_pairings (
            tenant TEXT NOT NULL,
            pairing_id TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (tenant, pairing_id)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE notification_history_pairings")
