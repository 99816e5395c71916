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

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE events (
            position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            tx_id BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
            event_id UUID NOT NULL,
            stream_id TEXT NOT NULL,
            stream_type TEXT NOT NULL,
            version INTEGER NOT NULL CHECK (version > 0),
            event_type TEXT NOT NULL,
            schema_version INTEGER NOT NULL DEFAULT 1,
            tenant TEXT NOT NULL,
            payload JSONB NOT NULL,
            metadata JSONB NOT NULL,
            event_time TIMESTAMPTZ NOT NULL,
            recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT events_stream_version UNIQUE (stream_id, version),
            CONSTRAINT events_event_id UNIQUE (event_id)
        )
        """
    )
    op.execute("CREATE INDEX events_log_order ON events (tx_id, position)")
    op.execute(
        """
        CREATE TABLE log_checkpoints (
            name TEXT PRIMARY KEY,
            tx_id BIGINT NOT NULL,
            position BIGINT NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE processed_events (
            consumer TEXT NOT NULL,
            event_id TEXT NOT NULL,
            processed_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
            PRIMARY KEY (consumer, event_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE dead_letters (
            id TEXT PRIMARY KEY,
            consumer TEXT NOT NULL,
            topic TEXT NOT NULL,
            partition_no INTEGER NOT NULL,
            offset_no BIGINT NOT NULL,
            event_id TEXT,
            event_type TEXT,
            error TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            headers TEXT NOT NULL,
            value TEXT,
            created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
            replayed_at TIMESTAMPTZ
        )
        """
    )
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
    op.execute("DROP TABLE dead_letters")
    op.execute("DROP TABLE processed_events")
    op.execute("DROP TABLE log_checkpoints")
    op.execute("DROP TABLE events")
