"""Erasure receipts: the service confirms, per erased person, when and in which stores.

Revision ID: 0005
Revises: 0004

The chassis's receipt table (``chassis.erasure_receipts``), written by the
``PersonErased`` handler in its own transaction and read by
``GET /admin/erasures/{person_id}``. People erased before this revision have no
receipt (their erasure happened; it was not recorded).
"""

from __future__ import annotations

from chassis.migrations.privacy_tables import (
    create_erasure_receipts,
    drop_erasure_receipts,
)

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    create_erasure_receipts()


def downgrade() -> None:
    drop_erasure_receipts()
