"""People as GraphQL types."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from chassis.auth import Role
from gateway.context import ctx
from gateway.people import loaders


@strawberry.type(description="A development goal from the person's intake.")
class DevelopmentGoal:
    competency_id: str = strawberry.field(description="The competency to develop.")
    target_level: int | None = strawberry.field(
        default=None, description="Proficiency aimed for (1 to 5)."
    )


@strawberry.type(
    description="A person of the organisation: executive, mentor, reverse mentor, "
    "coordinator … Contact details and intake are shown to the person themselves "
    "and to coordinators; demographics only to administrators. An erased person "
    "keeps only their id and `erased: true`."
)
class Person(relay.Node):
    person_id: relay.NodeID[str] = strawberry.field(
        description="The profiles service's id of the person."
    )
    status: str = strawberry.field(description="active, inactive or erased.")
    erased: bool = strawberry.field(description="True once the person was erased.")
    given_name: str | None = strawberry.field(description="Given name.")
    family_name: str | None = strawberry.field(description="Family name.")
    email: str | None = strawberry.field(
        description="Work email (the person and coordinators only)."
    )
    title: str | None = strawberry.field(description="Job title.")
    level: int | None = strawberry.field(
        description="Grade or level (higher = more senior)."
    )
    business_unit: str | None = strawberry.field(description="Business unit.")
    function: str | None = strawberry.field(description="Function, e.g. Finance.")
    geography: str | None = strawberry.field(
        description="Country (ISO 3166-1 alpha-2)."
    )
    time_zone: str | None = strawberry.field(description="IANA time zone.")
    roles: list[str] = strawberry.field(
        description="Programme roles: mentee, mentor, reverse_mentor, coordinator …"
    )
    languages: list[str] = strawberry.field(description="Languages spoken.")
    mentor_profile: JSON | None = strawberry.field(
        description="Strengths, formats and capacity offered as a mentor."
    )
    intake: JSON | None = strawberry.field(
        description="Goals, preferred formats and hours (the person and coordinators)."
    )
    version: int | None = strawberry.field(
        description="Version of the profile, for optimistic concurrency."
    )
    _demographics: strawberry.Private[Any] = None
    _manager_id: strawberry.Private[str | None] = None

    @strawberry.field(
        description="Consented demographic attributes; administrators only (null "
        "for everyone else, and when not shared)."
    )
    def demographics(self, info: Info) -> JSON | None:
        if not ctx(info).has_role(Role.ADMIN):
            return None
        return self._demographics

    @strawberry.field(description="The person's line manager.")
    async def manager(self, info: Info) -> Person | None:
        if not self._manager_id:
            return None
        data = await loaders.people(info).load(self._manager_id)
        return Person.from_data(data) if data else None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Person:
        return cls(
            person_id=data["person_id"],
            status=data.get("status", "active"),
            erased=bool(data.get("erased", False)),
            given_name=data.get("given_name"),
            family_name=data.get("family_name"),
            email=data.get("email"),
            title=data.get("title"),
            level=data.get("level"),
            business_unit=data.get("business_unit"),
            function=data.get("function"),
            geography=data.get("geography"),
            time_zone=data.get("time_zone"),
            roles=list(data.get("roles") or []),
            languages=list(data.get("languages") or []),
            mentor_profile=data.get("mentor_profile"),
            intake=data.get("intake"),
            version=data.get("version"),
            _demographics=data.get("demographics"),
            _manager_id=data.get("manager_id"),
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Person | None]:
        rows = await loaders.people(info).load_many(list(node_ids))
        return [cls.from_data(r) if isinstance(r, dict) else None for r in rows]


async def person_by_id(info: Info, person_id: str | None) -> Person | None:
    """The person with ``person_id`` as the caller may see them (batched)."""
    if not person_id:
        return None
    data = await loaders.people(info).load(person_id)
    return Person.from_data(data) if data else None
