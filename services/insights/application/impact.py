"""Mentor impact report per quarter, computed from the facts that happened by the
quarter's end (or by today, for the current quarter: days still to come expect
nothing yet), each on its effective day whenever it was recorded."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.auth.principal import Principal, Role
from chassis.errors import FieldError, Forbidden, ValidationFailed
from chassis.events import utcnow
from services.insights.domain import health as domain
from services.insights.projections import facts as fact_log
from services.insights.projections.erasure import Erasures

OVERSEERS = (Role.COORDINATOR, Role.SPONSOR, Role.ADMIN)


class Impact:
    """Impact reads the facts directly: no table of its own."""

    def __init__(self, engine: AsyncEngine, erasures: Erasures | None = None) -> None:
        self.engine = engine
        self.erasures = erasures

    async def of_mentor(
        self, principal: Principal, mentor_id: str, quarter: str
    ) -> domain.Impact:
        """A mentor's quarter: mentees, sessions held vs expected, milestones,
        ratings (the mentor and overseers)."""
        if principal.subject != mentor_id and not principal.has_role(*OVERSEERS):
            raise Forbidden("only the mentor and overseers see this report")
        try:
            _first, last = domain.quarter_bounds(quarter)
        except ValueError:
            raise ValidationFailed(
                [FieldError("quarter", "must look like 2027Q1")]
            ) from None
        today = utcnow().date()
        on = min(last, today)
        async with self.engine.connect() as conn:
            # every fact: one recorded after the quarter may have happened in it
            # (the fold places each at its effective day; later days count nothing)
            history = await fact_log.of_types(
                conn, principal.tenant, (*domain.HANDLED, *domain.PERSON_STATUS)
            )
            erased = self.erasures is not None and (
                await self.erasures.receipt(conn, principal.tenant, mentor_id)
                is not None
            )
        events = [(kind, data, at) for kind, data, at in history]
        relationships = domain.fold(events)
        activity = domain.mentor_activity(
            mentor_id,
            [e for e in events if e[0] in domain.PERSON_STATUS],
            on,
            erased=erased,
        )
        return domain.impact(
            mentor_id,
            quarter,
            list(relationships.values()),
            as_of=on,
            activity=activity,
        )
