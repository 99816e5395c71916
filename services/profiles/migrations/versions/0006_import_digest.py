"""The HRIS import's digest of each person's last imported record.

Revision ID: 0006
Revises: 0005

``people.import_digest``: ``<version>:<keyed digest>`` of the record an import last
applied (or found unchanged) for the person, with the row's version at that moment.
A re-sent record whose digest matches while the row is still at that version is
unchanged, known without validating it or opening the row. The digest is a keyed
hash (the blind-index key) like the blind indexes beside it, and erasure clears it
with them. Rows from before this revision have none: their next import compares them
field by field, once.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE people ADD COLUMN import_digest TEXT")


def downgrade() -> None:
    op.execute("ALTER TABLE people DROP COLUMN import_digest")
