"""Relationship health as the pair and the programme team read it: now, as of a past
day, many at once, and counted by state over time.

The rows are kept by ``projections/health.py`` (states, thresholds and warnings:
``domain/health.py``); a past day is recomputed from the facts up to its end. Health
over time: ``domain/health_history.py``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import TypedDict

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.auth.principal import Principal, Role
from chassis.errors import Forbidden, NotFound, TandemError
from chassis.events import utcnow
from contracts.insights import HealthInterval, HealthState
from services.insights.domain import health as domain
from services.insights.domain import health_history as history
from services.insights.projections import facts as fact_log
from services.insights.projections import health as table
from services.insights.projections.health import HealthBook

OVERSEERS = (Role.COORDINATOR, Role.SPONSOR, Role.ADMIN)


class View(TypedDict):
    """A relationship's health as the routes answer it."""

    relationship_id: str
    mentor_id: str | None
    mentee_id: str | None
    cohort_id: str | None
    state: HealthState
    reasons: list[str]
    idle: bool
    days_since_session: int | None
    cancellation_streak: int | None
    as_of: str | None


class ItemError(TypedDict):
    code: str
    message: str


class Refused(TypedDict):
    """An item of a batch answer the caller may not have, in its place."""

    id: str
    error: ItemError


class Found(TypedDict):
    id: str
    health: View


History = TypedDict(
    "History",
    {
        "from": str,
        "to": str,
        "every": HealthInterval,
        "cohort_id": str | None,
        "states": list[HealthState],
        "points": list[history.CountsAt],
    },
)


def can_read(principal: Principal, *people: str | None) -> bool:
    return principal.has_role(*OVERSEERS) or principal.subject in people


def refused(ident: str, exc: TandemError) -> Refused:
    """An item of a batch answer the caller may not have (or that does not exist):
    the error in its place, so one refusal never hides the others."""
    return {"id": ident, "error": {"code": exc.code, "message": str(exc)}}


def _view(row: RowMapping, health: domain.Health | None = None) -> View:
    return {
        "relationship_id": row["relationship_id"],
        "mentor_id": row["mentor_id"],
        "mentee_id": row["mentee_id"],
        "cohort_id": row["cohort_id"],
        "state": health.state if health else HealthState(row["state"]),
        "reasons": health.reasons if health else json.loads(row["reasons"]),
        "idle": health.idle if health else bool(row["idle"]),
        "days_since_session": health.days_since_session if health else None,
        "cancellation_streak": health.cancellation_streak if health else None,
        "as_of": health.as_of if health else row["assessed_at"],
    }


class Health:
    """Reads of relationship health (the routes of ``api/health.py``)."""

    def __init__(self, engine: AsyncEngine, book: HealthBook) -> None:
        self.engine = engine
        self.book = book

    async def listed(
        self,
        principal: Principal,
        state: HealthState | None,
        cohort_id: str | None,
    ) -> list[View]:
        """Every relationship's health now with its reasons and figures (overseers),
        filterable: each assessed from its kept facts as ``one`` and ``many`` assess
        it, so a list item says what the relationship alone says (state, reasons,
        days since a session, cancellation streak), and ``state`` filters on that
        assessment."""
        principal.require(*OVERSEERS)
        async with self.engine.connect() as conn:
            rows = await table.relationships(
                conn, principal.tenant, cohort_id=cohort_id
            )
        moment = utcnow()
        views = [
            _view(r._mapping, self.book.assess(table.facts_of(r), moment)) for r in rows
        ]
        return [v for v in views if state is None or v["state"] == state]

    async def one(
        self, principal: Principal, relationship_id: str, as_of: date | None
    ) -> View:
        """One relationship's health now or as of the end of a day (the pair,
        overseers)."""
        async with self.engine.connect() as conn:
            row = await table.relationship(conn, principal.tenant, relationship_id)
            if row is None:
                raise NotFound("no such relationship")
            if not can_read(principal, row.mentor_id, row.mentee_id):
                raise Forbidden("only the pair and overseers see this relationship")
            if as_of is None:
                facts = table.facts_of(row)
                moment = utcnow()
            else:
                moment = datetime.combine(as_of, time.max, tzinfo=UTC)
                # every fact: one recorded later may have happened by then
                known = await fact_log.of_types(conn, principal.tenant, domain.HANDLED)
                folded = domain.fold(known)
                facts = folded.get(relationship_id) or domain.RelationshipFacts(
                    relationship_id
                )
        return _view(row._mapping, self.book.assess(facts, moment))

    async def many(
        self, principal: Principal, ids: Sequence[str]
    ) -> list[Found | Refused]:
        """Several relationships' health now, in the order asked; an item the caller
        may not read, or that does not exist, is an error in its place."""
        ids = list(dict.fromkeys(ids))
        items: dict[str, Found | Refused] = {}
        async with self.engine.connect() as conn:
            rows = await table.relationships_in(conn, principal.tenant, ids)
        moment = utcnow()
        for row in rows:
            rid = row.relationship_id
            if not can_read(principal, row.mentor_id, row.mentee_id):
                items[rid] = refused(
                    rid, Forbidden("only the pair and overseers see this relationship")
                )
                continue
            assessed = self.book.assess(table.facts_of(row), moment)
            items[rid] = {"id": rid, "health": _view(row._mapping, assessed)}
        return [
            items.get(i) or refused(i, NotFound("no such relationship")) for i in ids
        ]

    async def over_time(
        self,
        principal: Principal,
        start: date,
        end: date,
        every: HealthInterval,
        cohort_id: str | None,
    ) -> History:
        """Relationships by health state at each point of a range (overseers)."""
        principal.require(*OVERSEERS)
        at = history.points(start, end, every)
        async with self.engine.connect() as conn:
            # every fact: one recorded after ``end`` may have happened before it
            kept = await fact_log.of_types(conn, principal.tenant, domain.HANDLED)
        facts = [(kind, data, domain.moment(on)) for kind, data, on in kept]
        return {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "every": every,
            "cohort_id": cohort_id,
            "states": list(history.STATES),
            "points": history.counts_over(
                facts, at, idle_days=self.book.idle_days, cohort_id=cohort_id
            ),
        }
