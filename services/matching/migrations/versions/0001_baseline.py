"""Baseline: the PostgreSQL schema the matching service created before migrations.

Revision ID: 0001
Revises: (none)

Written from the DDL the code ran at start (candidates, cohorts, pairings, rotation
plans, plus the chassis's event store, consumer and dead-letter tables). A database
created by an older start (tables present, no version table) is stamped at this
revision instead of running it. Do not edit: change the schema in a new revision.
"""

from __future__ import annotations

from alembic import op

from chassis.migrations.baseline import create_chassis_tables, drop_chassis_tables

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    create_chassis_tables(person_keys=False)
    op.execute(
        """
        CREATE TABLE candidates (
            person_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            level INTEGER, business_unit TEXT, function TEXT, geography TEXT,
            time_zone TEXT, manager_id TEXT, tenure_start TEXT,
            languages TEXT NOT NULL DEFAULT '[]',
            roles TEXT NOT NULL DEFAULT '[]',
            active INTEGER NOT NULL DEFAULT 1,
            mentor_profile TEXT,
            intake TEXT,
            demographics TEXT
        )
        """
    )
    op.execute("CREATE INDEX candidates_tenant ON candidates (tenant)")
    op.execute(
        """
        CREATE TABLE cohorts (
            cohort_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            name TEXT NOT NULL,
            programme_type TEXT NOT NULL,
            capacity INTEGER NOT NULL,
            definition TEXT NOT NULL
        )
        """
    )
    op.execute(
        """
        CREATE TABLE cohort_members (
            cohort_id TEXT NOT NULL,
            person_id TEXT NOT NULL,
            tenant TEXT NOT NULL,
            role TEXT NOT NULL,
            PRIMARY KEY (cohort_id, person_id)
        )
        """
    )
    op.execute("CREATE INDEX cohort_members_person ON cohort_members (person_id)")
    op.execute(
        """
        CREATE TABLE competencies (
            tenant TEXT NOT NULL,
            competency_id TEXT NOT NULL,
            name TEXT NOT NULL,
            retired INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant, competency_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE pairings (
            pairing_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            round_id TEXT,
            cohort_id TEXT,
            mentor_id TEXT NOT NULL,
            mentee_id TEXT NOT NULL,
            programme_type TEXT NOT NULL,
            state TEXT NOT NULL,
            score DOUBLE PRECISION NOT NULL,
            parts TEXT NOT NULL,
            accepted_by TEXT NOT NULL DEFAULT '[]',
            replaces TEXT,
            reason TEXT,
            expires_at TIMESTAMPTZ NOT NULL,
            proposed_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX pairings_mentor ON pairings (mentor_id, state)")
    op.execute("CREATE INDEX pairings_mentee ON pairings (mentee_id, state)")
    op.execute("CREATE INDEX pairings_round ON pairings (round_id)")
    op.execute(
        """
        CREATE TABLE forbidden_pairs (
            tenant TEXT NOT NULL,
            mentor_id TEXT NOT NULL,
            mentee_id TEXT NOT NULL,
            reason TEXT NOT NULL,
            PRIMARY KEY (tenant, mentor_id, mentee_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE dismissed_suggestions (
            tenant TEXT NOT NULL,
            mentee_id TEXT NOT NULL,
            mentor_id TEXT NOT NULL,
            PRIMARY KEY (tenant, mentee_id, mentor_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE rotation_plans (
            plan_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            mentee_id TEXT NOT NULL,
            cohort_id TEXT,
            cycles TEXT NOT NULL,
            planned_at TEXT NOT NULL,
            seq BIGINT NOT NULL
        )
        """
    )
    op.execute(
        "CREATE INDEX rotation_plans_mentee ON rotation_plans (tenant, mentee_id, seq)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE rotation_plans")
    op.execute("DROP TABLE dismissed_suggestions")
    op.execute("DROP TABLE forbidden_pairs")
    op.execute("DROP TABLE pairings")
    op.execute("DROP TABLE competencies")
    op.execute("DROP TABLE cohort_members")
    op.execute("DROP TABLE cohorts")
    op.execute("DROP TABLE candidates")
    drop_chassis_tables(person_keys=False)
