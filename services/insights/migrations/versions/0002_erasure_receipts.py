"""Tombstones and confirmations of erasures (``erasure_receipts``).

Revision ID: 0002
Revises: 0001

One row per erased person: an HMAC of (tenant, id) under a key from settings, never
the id; the pseudonym that replaced the id in the facts; when insights finished
forgetting them and in which stores (``services/insights/erasure.py``). People erased
before this revision have no tombstone: their facts were deleted then.

Facts and people rows kept before this revision still hold the free text insights no
longer keeps (the contracts' ``personal_fields`` as of this revision, demographics
excepted): it is removed here. Downgrading does not bring it back.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None
# The free text of the contracts as this revision was written (frozen here: a
# migration does not follow later changes of the code).
FREE_TEXT = {
    "IntakeSubmitted": ("learning_style", "experiences_lacking"),
    "MentorProfileSet": (
        "industries",
        "markets",
        "functions_led",
        "crisis_experience",
        "leadership_style",
    ),
    "ParticipantWithdrew": ("reason",),
}


def upgrade() -> None:
    # IF NOT EXISTS: a database the code's own DDL created before migrations (stamped
    # at 0001 when first migrated) has the table already.
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS erasure_receipts (
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
    for kind, fields in FREE_TEXT.items():
        drop = " - ".join(f"'{f}'" for f in fields)
        op.execute(
            f"UPDATE facts SET data = (CAST(data AS JSONB) - {drop})::text "
            f"WHERE type = '{kind}'"
        )
    # As the people view folds them now: a mentee's style unknown, a mentor's absent.
    op.execute(
        "UPDATE equity_people SET data = jsonb_set(CAST(data AS JSONB) "
        "- 'leadership_style', '{learning_style}', 'null')::text "
        "WHERE jsonb_exists(CAST(data AS JSONB), 'learning_style')"
    )
    op.execute(
        "UPDATE equity_people SET data = "
        "(CAST(data AS JSONB) - 'leadership_style')::text"
    )


def downgrade() -> None:
    op.execute("DROP TABLE erasure_receipts")
