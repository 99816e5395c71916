"""The chassis's own tables as every service's baseline (revision 0001) created them:
the event store (``events``, ``log_checkpoints``), the consumer's ``processed_events``
and ``dead_letters``, and, for services holding personal data, ``person_keys``.

Frozen with the baselines that call it: change these tables in a new revision of each
service, never here (the drift check compares the migrated schema with the code's).
"""

from __future__ import annotations

from alembic import op


def create_chassis_tables(*, person_keys: bool) -> None:
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
    if person_keys:
        op.execute(
            """
            CREATE TABLE person_keys (
                person_id TEXT PRIMARY KEY,
                tenant TEXT NOT NULL,
                wrapped_key TEXT,
                created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
                destroyed_at TIMESTAMPTZ
            )
            """
        )


def drop_chassis_tables(*, person_keys: bool) -> None:
    if person_keys:
        op.execute("DROP TABLE person_keys")
    for table in ("dead_letters", "processed_events", "log_checkpoints", "events"):
        op.execute(f"DROP TABLE {table}")
