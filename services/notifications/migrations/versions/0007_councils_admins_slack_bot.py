"""Council recommendations awaiting a decision (and each council's sponsors), the
tenant's admins as the service has seen them, and a tenant's sealed Slack bot token.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE notification_recommendations (
            tenant TEXT NOT NULL,
            recommendation_id TEXT NOT NULL,
            council_id TEXT NOT NULL,
            made_at TEXT NOT NULL,
            PRIMARY KEY (tenant, recommendation_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE notification_council_sponsors (
            tenant TEXT NOT NULL,
            council_id TEXT NOT NULL,
            person_id TEXT NOT NULL,
            PRIMARY KEY (tenant, council_id, person_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE notification_admins (
            tenant TEXT NOT NULL,
            person_id TEXT NOT NULL,
            seen_at TEXT NOT NULL,
            PRIMARY KEY (tenant, person_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE notification_slack_bots (
            tenant TEXT NOT NULL,
            token_sealed TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (tenant)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE notification_slack_bots")
    op.execute("DROP TABLE notification_admins")
    op.execute("DROP TABLE notification_council_sponsors")
    op.execute("DROP TABLE notification_recommendations")
