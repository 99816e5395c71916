"""Each person's Slack and Teams incoming webhooks (the chat channels).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE notification_preferences ADD COLUMN slack_webhook TEXT")
    op.execute("ALTER TABLE notification_preferences ADD COLUMN teams_webhook TEXT")


def downgrade() -> None:
    op.execute("ALTER TABLE notification_preferences DROP COLUMN teams_webhook")
    op.execute("ALTER TABLE notification_preferences DROP COLUMN slack_webhook")
