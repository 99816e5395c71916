"""Revoked subjects: the tokens of erased and deactivated people are refused.

Revision ID: 0002
Revises: 0001

The chassis's revocation view (``chassis.auth.revocation``), fed by profiles'
``PersonErased``, ``PersonDeactivated`` and ``PersonReactivated``. People erased
or deactivated before this revision are not in it (no event brings them back).
"""

from __future__ import annotations

from chassis.migrations.privacy_tables import (
    create_revoked_subjects,
    drop_revoked_subjects,
)

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    create_revoked_subjects()


def downgrade() -> None:
    drop_revoked_subjects()
