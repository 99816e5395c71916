"""The scorecard's organisation kept in parts (``scorecard_parts``).

Revision ID: 0004
Revises: 0003

One row per key of the scorecard's fold (``services/insights/domain/scorecard_parts.py``):
the key's facts, the slice of the organisation they fold to and their latest moment.
Scorecards "now" read it instead of folding every fact per request.

The rows of the facts kept before this revision are folded here, per tenant, by the
projection's own ``rows_of`` (the fold itself, not a frozen copy: the rows must be what
a rebuild gives, and ``POST /admin/rebuild`` gives the same). Downgrading drops the
table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.insights.projections import scorecards

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # IF NOT EXISTS: a database the code's own DDL created before migrations (stamped
    # at 0001 when first migrated) has the table already; its rows are folded again.
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS scorecard_parts (
            tenant TEXT NOT NULL,
            part TEXT NOT NULL,
            facts TEXT NOT NULL,
            slice TEXT NOT NULL,
            latest TEXT NOT NULL,
            PRIMARY KEY (tenant, part)
        )
        """
    )
    op.execute("DELETE FROM scorecard_parts")
    bind = op.get_bind()
    tenants = bind.execute(sa.text("SELECT DISTINCT tenant FROM facts")).scalars()
    for tenant in list(tenants):
        statement, params = scorecards.tenant_facts(tenant)
        rows = scorecards.rows_of(tenant, bind.execute(statement, params))
        if rows:
            bind.execute(scorecards.UPSERT, rows)


def downgrade() -> None:
    op.execute("DROP TABLE scorecard_parts")
