"""Outbound webhooks: endpoints, their signing secrets, messages and the delivery log.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE webhook_endpoints (
            endpoint_id TEXT NOT NULL,
            tenant TEXT NOT NULL,
            url TEXT NOT NULL,
            event_types TEXT DEFAULT '[]' NOT NULL,
            description TEXT DEFAULT '' NOT NULL,
            enabled BOOLEAN NOT NULL,
            disabled_reason TEXT,
            failing_since TEXT,
            created_at TEXT NOT NULL,
            PRIMARY KEY (endpoint_id)
        )
        """
    )
    op.execute("CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant)")
    op.execute(
        """
        CREATE TABLE webhook_secrets (
            endpoint_id TEXT NOT NULL,
            secret_id TEXT NOT NULL,
            secret TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT,
            PRIMARY KEY (endpoint_id, secret_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE webhook_deliveries (
            delivery_id TEXT NOT NULL,
            tenant TEXT NOT NULL,
            endpoint_id TEXT NOT NULL,
            event_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            body TEXT NOT NULL,
            people TEXT DEFAULT '' NOT NULL,
            status TEXT DEFAULT 'pending' NOT NULL,
            attempts INTEGER DEFAULT 0 NOT NULL,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            PRIMARY KEY (delivery_id),
            CONSTRAINT webhook_deliveries_once UNIQUE (endpoint_id, event_id)
        )
        """
    )
    op.execute(
        "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at)"
    )
    op.execute(
        "CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (tenant, endpoint_id, created_at)"
    )
    op.execute(
        """
        CREATE TABLE webhook_attempts (
            attempt_id TEXT NOT NULL,
            tenant TEXT NOT NULL,
            delivery_id TEXT NOT NULL,
            at TEXT NOT NULL,
            status_code INTEGER,
            error TEXT,
            duration_ms INTEGER NOT NULL,
            PRIMARY KEY (attempt_id)
        )
        """
    )
    op.execute(
        "CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, at)"
    )


def downgrade() -> None:
    for table in (
        "webhook_attempts",
        "webhook_deliveries",
        "webhook_secrets",
        "webhook_endpoints",
    ):
        op.execute(f"DROP TABLE {table}")
