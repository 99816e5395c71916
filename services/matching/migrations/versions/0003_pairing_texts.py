"""Pairing texts kept out of the events: explanations and notes.

Revision ID: 0003
Revises: 0002

Events now carry reason codes and numbers only (``contracts.matching``); the words
move to two private tables (``services.matching.pairing_texts``). The current-state
rows written before keep no free text either: their reasons become codes and their
score parts lose the sentences that quoted the two profiles. (The old events keep
their bytes until an operator rewrites them; they are upcast on read.)
"""

from __future__ import annotations

from alembic import op

from contracts.matching import REASON_CODES

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

LEGACY = (
    ("round re-run", "round_rerun"),
    ("pair forbidden", "pair_forbidden"),
    ("the mentor''s seats went down", "capacity_lowered"),
    ("next best after a decline", "next_best_after_decline"),
    ("next best after an expiry", "next_best_after_expiry"),
    ("insights early warning", "early_warning"),
)


def _coded(column: str) -> str:
    codes = ", ".join(f"'{c}'" for c in sorted(REASON_CODES))
    legacy = " ".join(
        f"WHEN {column} LIKE '{prefix}%' THEN '{code}'" for prefix, code in LEGACY
    )
    return (
        f"CASE WHEN {column} IS NULL THEN NULL WHEN {column} IN ({codes}) "
        f"THEN {column} {legacy} ELSE 'other' END"
    )


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE pairing_explanations (
            pairing_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            mentor_id TEXT NOT NULL,
            mentee_id TEXT NOT NULL,
            reasons TEXT NOT NULL
        )
        """
    )
    op.execute(
        """
        CREATE TABLE pairing_notes (
            note_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            pairing_id TEXT,
            mentor_id TEXT NOT NULL,
            mentee_id TEXT NOT NULL,
            action TEXT NOT NULL,
            code TEXT,
            author_id TEXT NOT NULL,
            body TEXT NOT NULL,
            written_at TIMESTAMPTZ NOT NULL
        )
        """
    )
    op.execute(
        "CREATE INDEX pairing_notes_pairing ON pairing_notes (tenant, pairing_id)"
    )
    op.execute(f"UPDATE pairings SET reason = {_coded('reason')}")
    op.execute(f"UPDATE forbidden_pairs SET reason = {_coded('reason')}")
    op.execute(
        "UPDATE pairings SET parts = COALESCE((SELECT json_agg(e::jsonb - 'reason')"
        "::text FROM json_array_elements(parts::json) AS e), '[]')"
    )


def downgrade() -> None:
    op.execute("DROP TABLE pairing_notes")
    op.execute("DROP TABLE pairing_explanations")
