"""A relationship's current contract terms are kept in its row.

Revision ID: 0006
Revises: 0005

``relationships.terms_text_id`` names the ``private_texts`` row of the contract's
terms, so a page of relationships reads every terms text in one statement instead of
rebuilding each relationship from its stream. Rows written before this revision take
it from their latest stored ``ContractDrafted`` event (the stored event carries the
private reference; the published one does not).
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE relationships ADD COLUMN terms_text_id TEXT")
    op.execute(
        """
        UPDATE relationships r SET terms_text_id = d.payload ->> 'terms_text_id'
        FROM (
            SELECT DISTINCT ON (stream_id) stream_id, payload
            FROM events WHERE event_type = 'ContractDrafted'
            ORDER BY stream_id, version DESC
        ) AS d
        WHERE d.stream_id = r.relationship_id
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE relationships DROP COLUMN terms_text_id")
