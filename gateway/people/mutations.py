"""Mutations of the people part: each answers its payload or a typed error."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from gateway.context import ctx
from gateway.errors import (
    COMMON,
    ConcurrencyConflict,
    Forbidden,
    NotFound,
    RuleViolation,
    ServiceUnavailable,
    ValidationError,
)
from gateway.ids import local_id
from gateway.mutations import run
from gateway.people.types import Person, person_by_id


@strawberry.input(description="A mentor's capacity.")
class SetMentorCapacityInput:
    person_id: relay.GlobalID = strawberry.field(description="The mentor.")
    max_mentees: int = strawberry.field(description="Mentees at most (0 to 50).")
    hours_per_month: int = strawberry.field(description="Hours a month (0 to 200).")


@strawberry.type(description="The capacity was changed.")
class SetMentorCapacitySuccess:
    person: Person | None = strawberry.field(description="The mentor, as now.")


SetMentorCapacityResult = Annotated[
    SetMentorCapacitySuccess
    | ValidationError
    | NotFound
    | Forbidden
    | ConcurrencyConflict
    | RuleViolation
    | ServiceUnavailable,
    strawberry.union("SetMentorCapacityResult"),
]


@strawberry.type
class PeopleMutation:
    @strawberry.mutation(
        description="Change a mentor's capacity (never below their current mentees)."
    )
    async def set_mentor_capacity(
        self, info: Info, input: SetMentorCapacityInput
    ) -> SetMentorCapacityResult:
        c = ctx(info)

        async def call() -> str:
            pid = local_id(input.person_id, "Person", "input.personId")
            await c.caller.put(
                "profiles",
                f"/people/{pid}/capacity",
                {
                    "max_mentees": input.max_mentees,
                    "hours_per_month": input.hours_per_month,
                },
            )
            return pid

        async def ok(pid: str) -> SetMentorCapacitySuccess:
            return SetMentorCapacitySuccess(person=await person_by_id(info, pid))

        return await run(call, ok, COMMON)
