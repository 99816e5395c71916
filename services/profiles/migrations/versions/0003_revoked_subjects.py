"""Revoked subjects: the tokens of erased and deactivated people are refused.

Revision ID: 0003
Revises: 0002

The chassis's revocation view (``chassis.auth.revocation``), written in the
transaction that appends profiles' own ``PersonErased``, ``PersonDeactivated`` and
``PersonReactivated``. People erased or deactivated before this revision are not in
it (profiles still refuses an erased person: their row is gone from every query).
"""

from __future__ import annotations

from chassis.migrations.privacy_tables import (
    create_revoked_subjects,
    drop_revoked_subjects,
)

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    create_revoked_subjects()


def downgrade() -> None:
    drop_revoked_subjects()
