"""Tombstones and confirmations of erasures (``erasure_receipts``).

Revision ID: 0002
Revises: 0001

One row per erased person: an HMAC of (tenant, id) under a key from settings, never
the id; the pseudonym that replaced the id in the facts; when insights finished
forgetting them and in which stores (``services/insights/erasure.py``). People erased
before this revision have no tombstone: their facts were deleted then.
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
        CREATE TABLE erasure_receipts (
                    tenant TEXT NOT NULL,
                    person_key TEXT NOT NULL,
                    pseudonym TEXT NOT NULL,
                    erased_at TEXT NOT NULL,
                    confirmed_at TEXT NOT NULL,
                    stores TEXT NOT NULL,
                    PRIMARY KEY (tenant, person_key)
                )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE erasure_receipts")
