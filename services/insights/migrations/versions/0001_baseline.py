"""Baseline: the PostgreSQL schema the insights service created before migrations.

Revision ID: 0001
Revises: (none)

Written from the DDL the code ran at start (facts, relationship health, equity, plus
the chassis's event store, consumer and dead-letter tables). A database created by
an older start (tables present, no version table) is stamped at this revision
instead of running it. Do not edit: change the schema in a new revision.
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
        CREATE TABLE facts (
            event_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            source TEXT NOT NULL,
            type TEXT NOT NULL,
            subject TEXT NOT NULL,
            occurred_at TIMESTAMPTZ NOT NULL,
            data TEXT NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX facts_type ON facts (tenant, type, occurred_at)")
    op.execute(
        "CREATE TABLE fact_people (event_id TEXT NOT NULL, person_id TEXT NOT NULL, PRIMARY KEY (event_id, person_id))"
    )
    op.execute("CREATE INDEX fact_people_person ON fact_people (person_id)")
    op.execute(
        """
        CREATE TABLE relationship_health (
            tenant TEXT NOT NULL,
            relationship_id TEXT NOT NULL,
            pairing_id TEXT,
            mentor_id TEXT,
            mentee_id TEXT,
            cohort_id TEXT,
            state TEXT NOT NULL,
            reasons TEXT NOT NULL,
            idle INTEGER NOT NULL DEFAULT 0,
            facts TEXT NOT NULL,
            assessed_at TEXT NOT NULL,
            PRIMARY KEY (tenant, relationship_id)
        )
        """
    )
    op.execute(
        "CREATE TABLE equity_people (tenant TEXT NOT NULL, person_id TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (tenant, person_id))"
    )


def downgrade() -> None:
    op.execute("DROP TABLE equity_people")
    op.execute("DROP TABLE relationship_health")
    op.execute("DROP TABLE fact_people")
    op.execute("DROP TABLE facts")
    op.execute("DROP TABLE dead_letters")
    op.execute("DROP TABLE processed_events")
    op.execute("DROP TABLE log_checkpoints")
    op.execute("DROP TABLE events")
