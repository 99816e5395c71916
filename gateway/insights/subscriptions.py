"""Live insights news from the broker (``tandem.insights.v1``): relationship health
changes and early warnings, for coordinators and admins only."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry
from strawberry.types import Info

from chassis.auth import Role
from chassis.envelope import Envelope
from gateway import refs
from gateway.context import ctx
from gateway.enums import HealthState, WarningLevel, wire_enum
from gateway.matching.subscriptions import forbidden
from gateway.matching.types import PersonRef, load_person
from gateway.refs import RelationshipRef

OVERSEERS = (Role.ADMIN, Role.COORDINATOR)


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
                yield RelationshipHealthChange(
                    relationship_id=env.data["relationship_id"],
                    from_state=wire_enum(HealthState, env.data.get("from_state")),
                    to_state=HealthState(env.data["to_state"]),
                    reasons=list(env.data.get("reasons") or []),
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
                yield EarlyWarning(
                    relationship_id=env.data["relationship_id"],
                    level=WarningLevel(env.data["level"]),
                    reasons=list(env.data.get("reasons") or []),
                    at=env.time,
                    _mentor_id=env.data["mentor_id"],
                    _mentee_id=env.data["mentee_id"],
                )
