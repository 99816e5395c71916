"""The scheduler of the time-based rules: a tenant's rules, per relationship its
latest sign of life and inactivity warning, sessions to come, open milestones, early
warnings still raised, the programme's coordinators.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE notification_rules (
            tenant TEXT NOT NULL,
            rules TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (tenant)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE notification_schedule (
            tenant TEXT NOT NULL,
            relationship_id TEXT NOT NULL,
            started_at TEXT,
            last_held_at TEXT,
            answered_at TEXT,
            cadence_days INTEGER,
            state TEXT DEFAULT 'active' NOT NULL,
            warned_at TEXT,
            warned_for TEXT,
            closed_at TEXT,
            PRIMARY KEY (tenant, relationship_id)
        )
        """
    )
    op.execute(
        "CREATE INDEX notification_schedule_state ON notification_schedule (state)"
    )
    op.execute(
        """
        CREATE TABLE notification_upcoming (
            tenant TEXT NOT NULL,
            session_id TEXT NOT NULL,
            relationship_id TEXT NOT NULL,
            starts_at TEXT NOT NULL,
            PRIMARY KEY (tenant, session_id)
        )
        """
    )
    op.execute(
        "CREATE INDEX notification_upcoming_start ON notification_upcoming (starts_at)"
    )
    op.execute(
        """
        CREATE TABLE notification_milestones (
            tenant TEXT NOT NULL,
            milestone_id TEXT NOT NULL,
            relationship_id TEXT NOT NULL,
            due_on TEXT NOT NULL,
            PRIMARY KEY (tenant, milestone_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE notification_warnings (
            tenant TEXT NOT NULL,
            relationship_id TEXT NOT NULL,
            raised_at TEXT NOT NULL,
            PRIMARY KEY (tenant, relationship_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE notification_coordinators (
            tenant TEXT NOT NULL,
            person_id TEXT NOT NULL,
            PRIMARY KEY (tenant, person_id)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE notification_coordinators")
    op.execute("DROP TABLE notification_warnings")
    op.execute("DROP TABLE notification_milestones")
    op.execute("DROP TABLE notification_upcoming")
    op.execute("DROP TABLE notification_schedule")
    op.execute("DROP TABLE notification_rules")
