"""Equity reports: who takes part, gets matched and progresses, per group.

Keeps ``equity_people``, the people view (one JSON row per person, folded from the
facts by ``domain.equity.apply``); the reports are pure functions of it (definitions
in ``domain/equity.py``; disclosure control in ``domain/disclosure.py``). Also installs
the pairing patterns and programme operations routes, which read the same view.
"""

from __future__ import annotations

import io
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.fastapi import require_roles
from chassis.auth.principal import Principal, Role
from chassis.envelope import Envelope
from chassis.errors import FieldError, ValidationFailed
from chassis.events import utcnow
from chassis.exports import SafeDictWriter
from chassis.inputs import MAX_CODE, Ref
from services.insights.domain import equity as domain
from services.insights.rebuild import Rebuilder

router = APIRouter(tags=["equity"])
Overseer = Annotated[
    Principal, Depends(require_roles(Role.COORDINATOR, Role.SPONSOR, Role.ADMIN))
]
Dimension = Annotated[
    str,
    Query(
        max_length=MAX_CODE,
        pattern=r"^(business_unit|level_band|tenure_band|geography|demographics\.[A-Za-z0-9_]+)$",
        description="business_unit | level_band | tenure_band | geography | "
        "demographics.<attribute>",
    ),
]
CSV_FIELDS = (
    "group",
    "suppressed",
    "registered",
    "participants",
    "participation_rate",
    "matched",
    "match_rate",
    "match_rate_impact",
    "match_rate_flagged",
    "median_days_to_match",
    "mean_match_score",
    "promoted",
    "promotion_rate",
    "promotion_rate_impact",
    "promotion_rate_flagged",
    "departed",
)
EVENT_SET = frozenset(domain.EVENTS)


async def create_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS equity_people (tenant TEXT NOT NULL, "
                "person_id TEXT NOT NULL, data TEXT NOT NULL, "
                "PRIMARY KEY (tenant, person_id))"
            )
        )


async def on_fact(env: Envelope, conn: AsyncConnection) -> None:
    """Fold the event into the rows of the people it concerns."""
    for person in domain.touched(env.type, env.data):
        found = (
            await conn.execute(
                text(
                    "SELECT data FROM equity_people WHERE tenant = :t AND person_id = :p"
                ),
                {"t": env.tenant, "p": person},
            )
        ).scalar_one_or_none()
        row = json.loads(found) if found else domain.new_row(person)
        row = domain.apply(row, person, env.type, env.data, env.time.isoformat())
        await conn.execute(UPSERT, {"t": env.tenant, "p": person, "d": json.dumps(row)})


UPSERT = text(
    "INSERT INTO equity_people (tenant, person_id, data) VALUES (:t, :p, :d) "
    "ON CONFLICT (tenant, person_id) DO UPDATE SET data = excluded.data"
)


class EquityBatch:
    """A rebuild's fold of ``equity_people`` (``rebuild.Rebuilder``): the same
    ``domain.apply`` as ``on_fact``, on rows kept in memory, written once."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], domain.Row] = {}

    def fold(self, env: Envelope) -> None:
        if env.type not in EVENT_SET:
            return
        at = env.time.isoformat()
        for person in domain.touched(env.type, env.data):
            key = (env.tenant, person)
            row = self.rows.get(key) or domain.new_row(person)
            self.rows[key] = domain.apply(row, person, env.type, env.data, at)

    async def write(self, conn: AsyncConnection) -> None:
        if self.rows:
            await conn.execute(
                UPSERT,
                [
                    {"t": t, "p": p, "d": json.dumps(row)}
                    for (t, p), row in self.rows.items()
                ],
            )


async def erase(
    conn: AsyncConnection, tenant: str, person_id: str, pseudonym: str
) -> None:
    """Drop the person's row; the people they met keep the pairing, pseudonymised."""
    await conn.execute(
        text("DELETE FROM equity_people WHERE tenant = :t AND person_id = :p"),
        {"t": tenant, "p": person_id},
    )
    rows = await conn.execute(
        text(
            "SELECT person_id, data FROM equity_people WHERE tenant = :t "
            "AND data LIKE :like"
        ),
        {"t": tenant, "like": f"%{person_id}%"},
    )
    for other, data in rows.all():
        row = domain.forget(json.loads(data), person_id, pseudonym)
        await conn.execute(
            text(
                "UPDATE equity_people SET data = :d WHERE tenant = :t AND person_id = :p"
            ),
            {"t": tenant, "p": other, "d": json.dumps(row)},
        )


async def reset(conn: AsyncConnection, tenant: str | None) -> None:
    """Clear the view for a rebuild: one tenant's rows, or (None) every tenant's."""
    if tenant is None:
        await conn.execute(text("DELETE FROM equity_people"))
    else:
        await conn.execute(
            text("DELETE FROM equity_people WHERE tenant = :t"), {"t": tenant}
        )


async def people(request: Request, tenant: str) -> list[domain.Row]:
    """The tenant's people view."""
    async with request.app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT data FROM equity_people WHERE tenant = :t"), {"t": tenant}
        )
        return [json.loads(r.data) for r in rows]


async def _report(
    request: Request, principal: Principal, dimension: str, cohort_id: str | None
) -> dict[str, Any]:
    if not domain.valid_dimension(dimension):
        raise ValidationFailed(
            [FieldError("dimension", "unknown dimension")],
        )
    return domain.equity_report(
        await people(request, principal.tenant),
        dimension,
        k=request.app.state.settings.k_anonymity,
        as_of=utcnow().date(),
        cohort_id=cohort_id,
        key=request.app.state.settings.disclosure_key,
    )


@router.get("/equity")
async def equity(
    request: Request,
    principal: Overseer,
    dimension: Dimension = "business_unit",
    cohort_id: Ref | None = None,
) -> dict[str, Any]:
    """Participation, matching and outcomes per group: counts rounded to 5, small
    groups and cells withheld (docs/privacy.md)."""
    return await _report(request, principal, dimension, cohort_id)


@router.get("/equity.csv", response_class=Response)
async def equity_csv(
    request: Request,
    principal: Overseer,
    dimension: Dimension = "business_unit",
    cohort_id: Ref | None = None,
) -> Response:
    """The equity report as CSV (one row per group, then the total)."""
    report = await _report(request, principal, dimension, cohort_id)
    out = io.StringIO()
    writer = SafeDictWriter(out, CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for row in [*report["groups"], {"group": "total", **report["total"]}]:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    name = f"equity-{dimension}-{utcnow().date().isoformat()}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def install(app: Any, runtime: Any) -> None:
    """The people view, its handlers, eraser and resetter; patterns and operations."""
    app.state.schema_setups.append(create_schema)
    for kind in domain.EVENTS:
        app.state.fact_handlers[kind].append(on_fact)
    app.state.stores["equity_people"] = erase
    app.state.resetters.append(reset)
    app.state.rebuilders.append(Rebuilder(frozenset({on_fact}), EquityBatch))
    # Imported here: both modules build on this one (its view and its guard).
    from services.insights import operations, patterns

    app.include_router(patterns.router)
    app.include_router(operations.router)
