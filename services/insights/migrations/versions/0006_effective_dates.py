"""Kept read models place each fact at the day it happened (effective dates).

Revision ID: 0006
Revises: 0005

Insights now dates every fact by when it happened, not when it was recorded
(``services/insights/domain/effective.py``): a relationship's pauses, resumptions and
end, its ratings (``relationship_health.facts``); the order and dates of the
scorecard's parts (``scorecard_parts``: intakes by ``assessed_on``, admissions by
``admitted_on``, each part's latest moment); joining, matching and ends in the people
view (``equity_people``). The rows kept before this revision are folded again here
from the facts, per tenant, by the projections' own folds (what ``POST
/admin/rebuild`` gives): every health row and scorecard part, and the people view's
rows of the people an admission, a confirmation or an end names. Health states are re-assessed by the next fact or the sweep.
Downgrading leaves the rows as they are (the older code reads them as it did).
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from alembic import op

from services.insights.projections import equity, facts, health, scorecards

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def _health(bind: sa.Connection, tenant: str) -> None:
    kinds = {f"k{n}": kind for n, kind in enumerate(health.HANDLED)}
    rows = bind.execute(
        sa.text(
            "SELECT type, data, occurred_at FROM facts WHERE tenant = :t "
            f"AND type IN ({', '.join(':' + k for k in kinds)}) "
            "ORDER BY occurred_at, event_id"
        ),
        {"t": tenant, **kinds},
    )
    folded = health.fold((kind, json.loads(data), at) for kind, data, at in rows)
    params = [
        {"t": tenant, "r": rid, "f": json.dumps(facts.to_json(), separators=(",", ":"))}
        for rid, facts in folded.items()
    ]
    if params:
        bind.execute(
            sa.text(
                "UPDATE relationship_health SET facts = :f "
                "WHERE tenant = :t AND relationship_id = :r"
            ),
            params,
        )


def _scorecards(bind: sa.Connection, tenant: str) -> None:
    bind.execute(
        sa.text("DELETE FROM scorecard_parts WHERE tenant = :t"), {"t": tenant}
    )
    statement, params = scorecards.tenant_facts(tenant)
    rows = scorecards.rows_of(tenant, bind.execute(statement, params))
    if rows:
        bind.execute(scorecards.UPSERT, rows)


# The people view's facts whose dates changed: only the rows of the people they name
# are folded again (the others are as a rebuild gives them already).
DATED = frozenset({"ParticipantAdmitted", "PairingConfirmed", "PairingEnded"})


def _equity(bind: sa.Connection, tenant: str) -> None:
    kinds = {f"k{n}": kind for n, kind in enumerate(equity.EVENTS)}
    rows = bind.execute(
        sa.text(
            "SELECT event_id, source, type, subject, occurred_at, data FROM facts "
            f"WHERE tenant = :t AND type IN ({', '.join(':' + k for k in kinds)}) "
            "ORDER BY occurred_at, event_id"
        ),
        {"t": tenant, **kinds},
    )
    batch = equity.EquityBatch()
    dated: set[str] = set()
    for ident, source, kind, subject, at, data in rows:
        fact = facts.Kept(
            ident,
            tenant,
            source,
            kind,
            subject,
            at if isinstance(at, datetime) else datetime.fromisoformat(at),
            json.loads(data),
            None,  # its ISO text as ``time.isoformat()`` gives it
            data,
        )
        if kind in DATED:
            dated.update(equity.domain.touched(kind, fact.data))
        batch.fold([fact])
    params = [
        {"t": t, "p": p, "d": json.dumps(row)}
        for (t, p), row in batch.rows.items()
        if p in dated
    ]
    if params:
        bind.execute(equity.UPSERT, params)


def upgrade() -> None:
    bind = op.get_bind()
    tenants = list(bind.execute(sa.text("SELECT DISTINCT tenant FROM facts")).scalars())
    for tenant in tenants:
        _health(bind, tenant)
        _scorecards(bind, tenant)
        _equity(bind, tenant)


def downgrade() -> None:
    pass
