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

from chassis.migrations.baseline import create_chassis_tables, drop_chassis_tables

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    create_chassis_tables(person_keys=False)
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
    drop_chassis_tables(person_keys=False)
