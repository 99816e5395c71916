"""Relationship health keeps each session's planned start (``planned``), the contract
versions in force over time (``in_force``) and the pauses (``pauses``).

Revision ID: 0005
Revises: 0004

(``in_force`` and ``pauses`` serve mentor impact's expected sessions, which reads the
facts themselves; the kept rows gain them here all the same, as a rebuild gives them.)

The cancellation streak now follows the order in which sessions were planned, not the
order their outcomes were recorded (``services/insights/domain/health.py``): a
relationship's kept facts (``relationship_health.facts``) gain each session's planned
start, read from its ``SessionScheduled`` / ``SessionRescheduled``. The rows kept
before this revision are folded again here from the facts, per tenant, by the
domain's own fold (what ``POST /admin/rebuild`` gives); their states are re-assessed
by the next fact or the hourly sweep, which raises any warning due as it always does.
Downgrading leaves the rows as they are (the older code ignores ``planned``).
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from services.insights.projections import health

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    bind = op.get_bind()
    kinds = {f"k{n}": kind for n, kind in enumerate(health.HANDLED)}
    statement = sa.text(
        "SELECT type, data, occurred_at FROM facts WHERE tenant = :t "
        f"AND type IN ({', '.join(':' + k for k in kinds)}) "
        "ORDER BY occurred_at, event_id"
    )
    update = sa.text(
        "UPDATE relationship_health SET facts = :f "
        "WHERE tenant = :t AND relationship_id = :r"
    )
    tenants = bind.execute(
        sa.text("SELECT DISTINCT tenant FROM relationship_health")
    ).scalars()
    for tenant in list(tenants):
        rows = bind.execute(statement, {"t": tenant, **kinds})
        folded = health.fold((kind, json.loads(data), at) for kind, data, at in rows)
        params = [
            {
                "t": tenant,
                "r": rid,
                "f": json.dumps(facts.to_json(), separators=(",", ":")),
            }
            for rid, facts in folded.items()
        ]
        if params:
            bind.execute(update, params)


def downgrade() -> None:
    pass
