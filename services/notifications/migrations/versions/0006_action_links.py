"""Signed action links: the nonces already spent (single use).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE action_links_used (
            nonce TEXT NOT NULL,
            tenant TEXT NOT NULL,
            action TEXT NOT NULL,
            used_at TEXT NOT NULL,
            PRIMARY KEY (nonce)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE action_links_used")
