"""Baseline: the PostgreSQL schema the profiles service created before migrations.

Revision ID: 0001
Revises: (none)

Written from the DDL the code ran at start (people, competencies, cohorts, mentor
load, SCIM users, person keys, plus the chassis's event store, consumer and
dead-letter tables). A database created by an older start (tables present, no
version table) is stamped at this revision instead of running it. Do not edit:
change the schema in a new revision.
"""

from __future__ import annotations

from alembic import op

from chassis.migrations.baseline import create_chassis_tables, drop_chassis_tables

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    create_chassis_tables(person_keys=True)
    op.execute(
        """
        CREATE TABLE people (
            person_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            employee_id TEXT, given_name TEXT, family_name TEXT, email TEXT, title TEXT,
            level INTEGER, business_unit TEXT, function TEXT, geography TEXT,
            time_zone TEXT, manager_id TEXT, hire_date TEXT,
            languages TEXT NOT NULL DEFAULT '[]',
            roles TEXT NOT NULL DEFAULT '[]',
            status TEXT NOT NULL DEFAULT 'active',
            mentor_profile TEXT, intake TEXT,
            consents TEXT NOT NULL DEFAULT '[]',
            demographics TEXT,
            version INTEGER NOT NULL DEFAULT 0,
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL
        )
        """
    )
    op.execute("CREATE UNIQUE INDEX people_employee ON people (tenant, employee_id)")
    op.execute(
        "CREATE UNIQUE INDEX people_email_unique ON people (tenant, lower(email))"
    )
    op.execute("CREATE INDEX people_tenant ON people (tenant, person_id)")
    op.execute(
        """
        CREATE TABLE competencies (
            tenant TEXT NOT NULL,
            competency_id TEXT NOT NULL,
            name TEXT NOT NULL,
            category TEXT,
            retired INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant, competency_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE cohorts (
            cohort_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            name TEXT NOT NULL,
            definition TEXT NOT NULL,
            capacity INTEGER NOT NULL,
            stage TEXT NOT NULL
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
            status TEXT NOT NULL,
            arrival BIGINT NOT NULL,
            since TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (cohort_id, person_id)
        )
        """
    )
    op.execute("CREATE INDEX cohort_members_person ON cohort_members (person_id)")
    op.execute(
        """
        CREATE TABLE mentor_load (
            pairing_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            mentor_id TEXT NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX mentor_load_mentor ON mentor_load (mentor_id)")
    op.execute(
        """
        CREATE TABLE scim_users (
            person_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            external_id TEXT,
            deprovisioned INTEGER NOT NULL DEFAULT 0,
            revision INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    op.execute("CREATE INDEX scim_users_external ON scim_users (tenant, external_id)")


def downgrade() -> None:
    op.execute("DROP TABLE scim_users")
    op.execute("DROP TABLE mentor_load")
    op.execute("DROP TABLE cohort_members")
    op.execute("DROP TABLE cohorts")
    op.execute("DROP TABLE competencies")
    op.execute("DROP TABLE people")
    drop_chassis_tables(person_keys=True)
