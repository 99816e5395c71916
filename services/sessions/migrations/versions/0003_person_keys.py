"""Authors' keys: private texts are sealed with their author's data key.

Revision ID: 0003
Revises: 0002

``person_keys`` holds each author's AES-256-GCM data key, wrapped by
``SESSIONS_MASTER_KEY`` (the chassis' crypto-shredding table, as in profiles and
advisors). Texts written before this revision were stored in clear; a migration does
not hold the master key, so they are marked ``sealed = 0`` here and the service seals
them when it starts (``PrivateTexts.seal_legacy``), before it serves. PostgreSQL keeps
the old row versions until (auto)vacuum reclaims them.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE person_keys (
            person_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            wrapped_key TEXT,
            created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
            destroyed_at TIMESTAMPTZ
        )
        """
    )
    op.execute("ALTER TABLE private_texts ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0")
    op.execute("ALTER TABLE private_texts ALTER COLUMN sealed SET DEFAULT 1")


def downgrade() -> None:
    # Sealed texts cannot be read without the keys: they go with them.
    op.execute("DELETE FROM private_texts WHERE sealed = 1")
    op.execute("ALTER TABLE private_texts DROP COLUMN sealed")
    op.execute("DROP TABLE person_keys")
