"""References between parts of the graph: fields that return the node an id names.

A type that holds another object's service id (a relationship's cohort, a risk's
owner …) answers it as a field returning that node, loaded in the same batch as every
other of the request; the raw id, where it is still exposed, is deprecated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from gateway.enums import ProgrammeType

if TYPE_CHECKING:
    from gateway.advisors.types import Advisor
    from gateway.people.types import Cohort, Person
    from gateway.sessions.types import Relationship

PersonRef = Annotated["Person", strawberry.lazy("gateway.people.types")]
CohortRef = Annotated["Cohort", strawberry.lazy("gateway.people.types")]
RelationshipRef = Annotated["Relationship", strawberry.lazy("gateway.sessions.types")]


async def person(info: Info, person_id: str | None) -> Person | None:
    """The person as the caller may see them (``None``: absent or not visible)."""
    from gateway.people.types import person_by_id

    return await person_by_id(info, person_id) if person_id else None


async def people(info: Info, person_ids: list[str]) -> list[Person]:
    """Several people, those not visible left out."""
    found = [await person(info, p) for p in person_ids]
    return [p for p in found if p is not None]


async def advisor(info: Info, advisor_id: str | None) -> Advisor | None:
    """The external advisor (``None``: none, or not visible)."""
    from gateway.advisors import loaders
    from gateway.advisors.types import Advisor

    if not advisor_id:
        return None
    found = await loaders.advisors(info).load(advisor_id)
    return Advisor.from_model(found) if found is not None else None


async def mentor(
    info: Info, mentor_id: str | None, programme: ProgrammeType | None
) -> Person | Advisor | None:
    """The mentor a pairing or relationship names: an advisor in an external
    programme, a person otherwise (each tried second when the first finds none)."""
    if not mentor_id:
        return None
    found: Person | Advisor | None
    if programme is ProgrammeType.EXTERNAL:
        found = await advisor(info, mentor_id)
        return found if found is not None else await person(info, mentor_id)
    found = await person(info, mentor_id)
    return found if found is not None else await advisor(info, mentor_id)


async def cohort(info: Info, cohort_id: str | None) -> Cohort | None:
    """The cohort (``None``: none, or not visible)."""
    from gateway.people.types import cohort_by_id

    return await cohort_by_id(info, cohort_id) if cohort_id else None


async def relationship(info: Info, relationship_id: str | None) -> Relationship | None:
    """The relationship (``None``: none, or not visible)."""
    from gateway.sessions.types import relationship_by_id

    return await relationship_by_id(info, relationship_id)


async def relationships(info: Info, relationship_ids: list[str]) -> list[Relationship]:
    """Several relationships, those not visible left out."""
    found = [await relationship(info, r) for r in relationship_ids]
    return [r for r in found if r is not None]
