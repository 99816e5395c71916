"""Balanced scorecards per mentee, relationship, cohort and the programme.

Computed by the pure functions of ``domain.scorecard`` from the organisation the
facts describe (``domain.scorecard_state.Org``):

- **now** (no ``as_of``): the organisation kept by the projection
  (``projections/scorecards.py``, table ``scorecard_parts``), read in one statement and
  merged, no fact read or folded. Should a fact be dated after the request's moment
  (another service's clock ahead of ours), the request folds the facts instead, so
  the answer is always the fold of the facts up to that moment (the same when some
  fact does not fold: a field missing; the fold then fails as it always did).
- **as of** a moment: ``facts.replay``, folded with the facts that had happened by
  then (``scorecard.fold(..., until=)``: effective dates, whenever recorded).

Both give the same organisation for the same facts (``tests/insights`` compare them
over varied histories delivered in any order), and a rebuild (``rebuild.py``) rebuilds
the kept one from the facts.

Who may read: coordinators, sponsors and admins every scorecard; a mentee their own
(and their relationships'); a mentor their relationships'. Every card is also
exported as CSV in the one long format of ``exports.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import TypedDict, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth import Principal, Role
from chassis.db import read
from chassis.errors import (
    FieldError,
    Forbidden,
    NotFound,
    TandemError,
    ValidationFailed,
)
from chassis.inputs import EARLIEST, LATEST
from services.insights.application.health import Refused, refused
from services.insights.domain import scorecard
from services.insights.projections import facts
from services.insights.projections import scorecards as kept

READERS = (Role.COORDINATOR, Role.SPONSOR, Role.ADMIN)
Card = scorecard.Card
C = TypeVar("C", bound=Card)


class Found(TypedDict):
    """A mentee's scorecard in a batch answer."""

    id: str
    card: scorecard.MenteeCard


def parse_as_of(value: str | None) -> datetime:
    """``as_of`` as an aware UTC moment; a bare date means the end of that day."""
    if not value:
        return datetime.now(UTC)
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), time.max, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            [FieldError("as_of", "expected an ISO 8601 date or date-time")]
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if not EARLIEST <= moment.date() <= LATEST:
        raise ValidationFailed(
            [FieldError("as_of", f"must be between {EARLIEST} and {LATEST}")]
        )
    return moment


def _found(card: C | None, what: str) -> C:
    if card is None:
        raise NotFound(f"no {what} as of that date")
    return card


def _reader(principal: Principal, *people: str) -> None:
    if principal.has_role(*READERS):
        return
    if principal.subject in people and principal.has_role(Role.MENTEE, Role.MENTOR):
        return
    raise Forbidden("a scorecard is readable by its own people and the programme team")


def _mentee_reader(principal: Principal, person_id: str) -> None:
    _reader(principal, person_id)
    if not principal.has_role(*READERS) and not principal.has_role(Role.MENTEE):
        raise Forbidden("only the mentee reads their own scorecard")


class Scorecards:
    """Scorecards of a tenant as of a moment (``as_of`` as the routes take it)."""

    def __init__(self, engine: AsyncEngine, *, min_comparison: int) -> None:
        self.engine = engine
        self.min_comparison = min_comparison

    async def _org(
        self, tenant: str, as_of: datetime, asked: str | None
    ) -> scorecard.Org:
        """The organisation at ``as_of``: kept by the projection for "now" (``asked``
        None), else (or when a fact is dated after now) folded from the facts: one
        statement each, on a connection that opens no transaction."""

        async def org(conn: AsyncConnection) -> scorecard.Org:
            if not asked:
                found, latest = await kept.organisation(conn, tenant)
                if found is not None and (latest is None or latest <= as_of):
                    return found
            # every fact, folded as of the moment by when each happened
            return scorecard.fold(await facts.replay(conn, tenant), until=as_of)

        return await read(self.engine, org)

    async def mentee(
        self, principal: Principal, person_id: str, as_of: str | None
    ) -> scorecard.MenteeCard:
        """One mentee's balanced scorecard."""
        _mentee_reader(principal, person_id)
        moment = parse_as_of(as_of)
        org = await self._org(principal.tenant, moment, as_of)
        card = scorecard.mentee_card(
            org, person_id, moment, min_comparison=self.min_comparison
        )
        return _found(card, "such mentee")

    async def mentees(
        self, principal: Principal, ids: Sequence[str], as_of: str | None
    ) -> list[Found | Refused]:
        """Several mentees' scorecards as of one moment, in the order asked; each
        authorised like ``mentee``, a refusal or an unknown one in its place."""
        moment = parse_as_of(as_of)
        ids = list(dict.fromkeys(ids))
        readable: list[str] = []
        items: dict[str, Found | Refused] = {}
        for ident in ids:
            try:
                _mentee_reader(principal, ident)
                readable.append(ident)
            except TandemError as exc:
                items[ident] = refused(ident, exc)
        if readable:
            org = await self._org(principal.tenant, moment, as_of)
            for ident in readable:
                card = scorecard.mentee_card(
                    org, ident, moment, min_comparison=self.min_comparison
                )
                items[ident] = (
                    {"id": ident, "card": card}
                    if card is not None
                    else refused(ident, NotFound("no such mentee as of that date"))
                )
        return [items[i] for i in ids]

    async def relationship(
        self, principal: Principal, rel_id: str, as_of: str | None
    ) -> scorecard.RelationshipCard:
        """One relationship's balanced scorecard."""
        moment = parse_as_of(as_of)
        org = await self._org(principal.tenant, moment, as_of)
        rel = org.relationships.get(rel_id)
        _reader(principal, *((rel.mentee_id, rel.mentor_id) if rel else ()))
        card = scorecard.relationship_card(
            org, rel_id, moment, min_comparison=self.min_comparison
        )
        return _found(card, "such relationship")

    async def cohort(
        self, principal: Principal, cohort_id: str, as_of: str | None
    ) -> scorecard.CohortCard:
        """A cohort's balanced scorecard, with one row per mentee."""
        principal.require(*READERS)
        moment = parse_as_of(as_of)
        org = await self._org(principal.tenant, moment, as_of)
        card = scorecard.cohort_card(
            org, cohort_id, moment, min_comparison=self.min_comparison
        )
        return _found(card, "such cohort")

    async def programme(
        self, principal: Principal, as_of: str | None
    ) -> scorecard.ProgrammeCard:
        """The whole programme's balanced scorecard."""
        principal.require(*READERS)
        moment = parse_as_of(as_of)
        org = await self._org(principal.tenant, moment, as_of)
        card = scorecard.programme_card(org, moment, min_comparison=self.min_comparison)
        return card
