"""Baseline: the PostgreSQL schema the advisors service created before migrations.

Revision ID: 0001
Revises: (none)

Written from the DDL the code ran at start (advisors, agreements, engagements,
councils, risks, person keys, plus the chassis's event store, consumer and
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
        CREATE TABLE advisors (
            advisor_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            status TEXT NOT NULL,
            expertise TEXT NOT NULL DEFAULT '[]',
            person_id TEXT,
            name TEXT, email TEXT, organisation TEXT, bio TEXT,
            checks TEXT NOT NULL DEFAULT '{}',
            evidence TEXT NOT NULL DEFAULT '{}',
            conflicts TEXT NOT NULL DEFAULT '{}',
            profile TEXT,
            reason_code TEXT,
            next_expiry TEXT,
            version INTEGER NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX advisors_tenant ON advisors (tenant, advisor_id)")
    op.execute("CREATE INDEX advisors_person ON advisors (tenant, person_id)")
    op.execute("CREATE INDEX advisors_expiry ON advisors (next_expiry)")
    op.execute(
        "CREATE TABLE advisor_agreements (agreement_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, advisor_id TEXT NOT NULL, status TEXT NOT NULL, starts_on TEXT NOT NULL, ends_on TEXT NOT NULL, scope TEXT NOT NULL, hours_per_month INTEGER NOT NULL, ending_soon BOOLEAN NOT NULL DEFAULT FALSE)"
    )
    op.execute(
        "CREATE INDEX advisor_agreements_advisor ON advisor_agreements (tenant, advisor_id)"
    )
    op.execute(
        "CREATE TABLE advisor_engagements (engagement_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, advisor_id TEXT NOT NULL, topic TEXT NOT NULL, on_date TEXT NOT NULL, audience_size INTEGER NOT NULL, status TEXT NOT NULL, agreement_id TEXT, minutes INTEGER)"
    )
    op.execute(
        """
        CREATE TABLE councils (
                council_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL,
                purpose TEXT NOT NULL, cadence_weeks INTEGER NOT NULL,
                publish_decisions BOOLEAN NOT NULL, chartered_at TEXT NOT NULL)
        """
    )
    op.execute(
        """
        CREATE TABLE council_members (
                council_id TEXT NOT NULL, member_id TEXT NOT NULL, tenant TEXT NOT NULL,
                kind TEXT NOT NULL, PRIMARY KEY (council_id, member_id))
        """
    )
    op.execute(
        """
        CREATE TABLE council_recommendations (
                recommendation_id TEXT PRIMARY KEY, council_id TEXT NOT NULL,
                tenant TEXT NOT NULL)
        """
    )
    op.execute(
        """
        CREATE TABLE risks (
            risk_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, title TEXT NOT NULL,
            category TEXT NOT NULL, likelihood INTEGER NOT NULL, impact INTEGER NOT NULL,
            owner_id TEXT NOT NULL, mitigation TEXT NOT NULL, status TEXT NOT NULL,
            raised_at TEXT NOT NULL, updated_at TEXT NOT NULL)
        """
    )
    op.execute("CREATE INDEX risks_tenant ON risks (tenant)")


def downgrade() -> None:
    op.execute("DROP TABLE risks")
    op.execute("DROP TABLE council_recommendations")
    op.execute("DROP TABLE council_members")
    op.execute("DROP TABLE councils")
    op.execute("DROP TABLE advisor_engagements")
    op.execute("DROP TABLE advisor_agreements")
    op.execute("DROP TABLE advisors")
    drop_chassis_tables(person_keys=True)
