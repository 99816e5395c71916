"""The delivery outbox (``deliveries``) and the tenants' message templates.

Revision ID: 0002
Revises: 0001

One delivery per (notification, channel), written with the notification; the
dispatcher sends what is due and retries with backoff. Notifications kept before this
revision reached the in-app inbox only, as they did then.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE deliveries (
            delivery_id TEXT NOT NULL,
            tenant TEXT NOT NULL,
            notification_id TEXT NOT NULL,
            recipient_id TEXT NOT NULL,
            channel TEXT NOT NULL,
            status TEXT DEFAULT 'pending' NOT NULL,
            digest BOOLEAN DEFAULT false NOT NULL,
            attempts INTEGER DEFAULT 0 NOT NULL,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            PRIMARY KEY (delivery_id)
        )
        """
    )
    op.execute("CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at)")
    op.execute(
        "CREATE INDEX deliveries_notification ON deliveries (tenant, notification_id)"
    )
    op.execute("CREATE INDEX deliveries_recipient ON deliveries (tenant, recipient_id)")
    op.execute(
        """
        CREATE TABLE notification_templates (
            tenant TEXT NOT NULL,
            kind TEXT NOT NULL,
            channel TEXT NOT NULL,
            locale TEXT NOT NULL,
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (tenant, kind, channel, locale)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE notification_templates")
    op.execute("DROP TABLE deliveries")
