"""Erasure receipts: the service confirms, per erased person, when and in which stores.

Revision ID: 0004
Revises: 0003

The chassis's receipt table (``chassis.erasure_receipts``), written by the
``PersonErased`` handler in its own transaction and read by
``GET /admin/erasures/{person_id}``. People erased before this revision have no
receipt (their erasure happened; it was not recorded).
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # IF NOT EXISTS: a database the code's own DDL created before migrations (stamped
    # at 0001 when first migrated) has the table already.
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS erasure_receipts (
            tenant TEXT NOT NULL,
            person_id TEXT NOT NULL,
            confirmed_at TIMESTAMPTZ NOT NULL,
            stores TEXT NOT NULL,
            PRIMARY KEY (tenant, person_id)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE erasure_receipts")
