"""Live insights news from the broker (``tandem.insights.v1``): relationship health
changes and early warnings, for coordinators and admins only."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import TypeVar

import strawberry
from pydantic import ValidationError
from strawberry.types import Info

from chassis.auth import Role
from chassis.envelope import Envelope
from chassis.errors import TandemError
from chassis.events import EventPayload
from contracts import insights as events
from gateway import refs
from gateway.context import ctx
from gateway.enums import HealthState, WarningLevel, wire_enum
from gateway.matching.subscriptions import forbidden
from gateway.matching.types import PersonRef, load_person
from gateway.refs import RelationshipRef

OVERSEERS = (Role.ADMIN, Role.COORDINATOR)
log = logging.getLogger(__name__)
P = TypeVar("P", bound=EventPayload)


def _payload(env: Envelope, model: type[P]) -> P | None:
    """The event's data as its contract (lifted to the current version); ``None``
    (logged, skipped) when it does not fit."""
    try:
        payload = events.registry.decode(env.type, env.schema_version, env.data)
    except (ValidationError, TandemError) as exc:
        log.error(
            "insights event %s %s does not fit its contract: %s", env.type, env.id, exc
        )
        return None
    return payload if isinstance(payload, model) else None


@strawberry.type(description="A relationship's health changed.")
class RelationshipHealthChange:
    relationship_id: str = strawberry.field(
        description="The relationship.", deprecation_reason="Use `relationship { id }`."
    )

    @strawberry.field(description="The relationship.")
    async def relationship(self, info: Info) -> RelationshipRef | None:
        return await refs.relationship(info, self.relationship_id)

    from_state: HealthState | None = strawberry.field(description="The state before.")
    to_state: HealthState = strawberry.field(description="The state now.")
    reasons: list[str] = strawberry.field(description="Machine reason codes.")
    at: datetime = strawberry.field(description="When it changed.")


@strawberry.type(description="A relationship worsened or went idle: act on it.")
class EarlyWarning:
    relationship_id: str = strawberry.field(
        description="The relationship.", deprecation_reason="Use `relationship { id }`."
    )

    @strawberry.field(description="The relationship.")
    async def relationship(self, info: Info) -> RelationshipRef | None:
        return await refs.relationship(info, self.relationship_id)

    level: WarningLevel = strawberry.field(description="How urgent it is.")
    reasons: list[str] = strawberry.field(description="Machine reason codes.")
    at: datetime = strawberry.field(description="When it was raised.")
    _mentor_id: strawberry.Private[str]
    _mentee_id: strawberry.Private[str]

    @strawberry.field(description="The mentor.")
    async def mentor(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._mentor_id)

    @strawberry.field(description="The mentee.")
    async def mentee(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._mentee_id)


def _overseer(info: Info) -> None:
    if not ctx(info).principal.has_role(*OVERSEERS):
        raise forbidden("only coordinators and admins follow relationship health")


@strawberry.type
class InsightsSubscription:
    @strawberry.subscription(
        description="Relationship health changes in your organisation as they happen "
        "(coordinators and admins)."
    )
    async def relationship_health_changes(
        self, info: Info
    ) -> AsyncGenerator[RelationshipHealthChange, None]:
        _overseer(info)
        c = ctx(info)

        def accepts(env: Envelope) -> bool:
            return env.type == "RelationshipHealthChanged"

        async with c.hub.listen(c.principal.tenant, accepts) as queue:
            while True:
                env = await queue.get()
                changed = _payload(env, events.RelationshipHealthChanged)
                if changed is None:
                    continue
                yield RelationshipHealthChange(
                    relationship_id=changed.relationship_id,
                    from_state=wire_enum(
                        HealthState,
                        changed.from_state.value if changed.from_state else None,
                    ),
                    to_state=HealthState(changed.to_state.value),
                    reasons=list(changed.reasons),
                    at=env.time,
                )

    @strawberry.subscription(
        description="Early warnings in your organisation as they are raised "
        "(coordinators and admins)."
    )
    async def early_warnings(self, info: Info) -> AsyncGenerator[EarlyWarning, None]:
        _overseer(info)
        c = ctx(info)

        def accepts(env: Envelope) -> bool:
            return env.type == "EarlyWarningRaised"

        async with c.hub.listen(c.principal.tenant, accepts) as queue:
            while True:
                env = await queue.get()
                warning = _payload(env, events.EarlyWarningRaised)
                if warning is None:
                    continue
                yield EarlyWarning(
                    relationship_id=warning.relationship_id,
                    level=WarningLevel(warning.level.value),
                    reasons=list(warning.reasons),
                    at=env.time,
                    _mentor_id=warning.mentor_id,
                    _mentee_id=warning.mentee_id,
                )
