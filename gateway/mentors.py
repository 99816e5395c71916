"""``Mentor``: who mentors in a pairing or a relationship, a person or an advisor.

A mentor is a person of the organisation, or an approved external advisor in an
``EXTERNAL`` programme (matching names either by their service id). The union is
answered by ``mentorParty``; ``mentor`` keeps its type (``Person``) for the clients
written against it and is null for an advisor.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from gateway.advisors.types import Advisor
from gateway.people.types import Person

Mentor = Annotated[
    Person | Advisor,
    strawberry.union(
        "Mentor",
        description="Who mentors: a `Person` of the organisation, or an external "
        "`Advisor` (in an `EXTERNAL` programme).",
    ),
]
