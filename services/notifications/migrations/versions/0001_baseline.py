"""Baseline: the notifications service's first schema.

Revision ID: 0001
Revises: (none)

The chassis's tables (event store, consumer, dead letters, revoked subjects, erasure
receipts) and the service's own: the people and pairs it addresses, sessions' events
parked until their relationship is known, the in-app inbox (one row per event and
recipient) and each person's preferences. Do not edit: change the schema in a new
revision.
"""

from __future__ import annotations

from alembic import op

from chassis.migrations.baseline import create_chassis_tables, drop_chassis_tables
from chassis.migrations.privacy_tables import (
    create_erasure_receipts,
    create_revoked_subjects,
    drop_erasure_receipts,
    drop_revoked_subjects,
)

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    create_chassis_tables(person_keys=False)
    create_revoked_subjects()
    create_erasure_receipts()
    op.execute(
        """
        CREATE TABLE notification_people (
            tenant TEXT NOT NULL,
            person_id TEXT NOT NULL,
            time_zone TEXT DEFAULT 'UTC' NOT NULL,
            PRIMARY KEY (tenant, person_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE notification_relationships (
            tenant TEXT NOT NULL,
            relationship_id TEXT NOT NULL,
            mentor_id TEXT NOT NULL,
            mentee_id TEXT NOT NULL,
            PRIMARY KEY (tenant, relationship_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE notification_parked (
            tenant TEXT NOT NULL,
            event_id TEXT NOT NULL,
            relationship_id TEXT NOT NULL,
            person_id TEXT,
            event_type TEXT NOT NULL,
            schema_version TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (tenant, event_id)
        )
        """
    )
    op.execute(
        "CREATE INDEX notification_parked_relationship "
        "ON notification_parked (tenant, relationship_id)"
    )
    op.execute(
        """
        CREATE TABLE notifications (
            notification_id TEXT NOT NULL,
            tenant TEXT NOT NULL,
            recipient_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            event_id TEXT NOT NULL,
            subject_id TEXT NOT NULL,
            facts TEXT DEFAULT '{}' NOT NULL,
            created_at TEXT NOT NULL,
            read_at TEXT,
            PRIMARY KEY (notification_id),
            CONSTRAINT notifications_once UNIQUE (tenant, event_id, recipient_id)
        )
        """
    )
    op.execute(
        "CREATE INDEX notifications_inbox "
        "ON notifications (tenant, recipient_id, created_at)"
    )
    op.execute(
        """
        CREATE TABLE notification_preferences (
            tenant TEXT NOT NULL,
            person_id TEXT NOT NULL,
            channels TEXT NOT NULL,
            unsubscribed BOOLEAN DEFAULT false NOT NULL,
            quiet_start TEXT,
            quiet_end TEXT,
            daily_digest BOOLEAN DEFAULT false NOT NULL,
            locale TEXT DEFAULT 'en' NOT NULL,
            email TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (tenant, person_id)
        )
        """
    )


def downgrade() -> None:
    for table in (
        "notification_preferences",
        "notifications",
        "notification_parked",
        "notification_relationships",
        "notification_people",
    ):
        op.execute(f"DROP TABLE {table}")
    drop_erasure_receipts()
    drop_revoked_subjects()
    drop_chassis_tables(person_keys=False)
