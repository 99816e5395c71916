"""The events the profiles service stores.

Each one shares its name with the integration event in ``contracts.profiles`` and adds
only what must stay here: fields named in ``personal_fields`` are stored encrypted with
the person's key (``None`` once the person is erased) and are never published.
Events without a contract counterpart (consent) are never published at all.

A contract's own personal fields (a mentor's industries, a mentee's lacking
experiences, a withdrawal's reason) are encrypted here too, with the key of the person
the event is about; once that key is destroyed they read as empty.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from pydantic import field_validator

from chassis.events import EventPayload, EventRegistry
from contracts import not_personal
from contracts import profiles as c

registry = EventRegistry()

PERSON_PII = ("employee_id", "given_name", "family_name", "email", "title", "hire_date")


class _PersonPII(EventPayload):
    personal_fields: ClassVar[tuple[str, ...]] = PERSON_PII
    employee_id: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    title: str | None = None
    hire_date: date | None = None


@registry.register
class PersonRegistered(c.PersonRegistered, _PersonPII):
    pass


@registry.register
class PersonDetailsUpdated(c.PersonDetailsUpdated, _PersonPII):
    pass


def _shredded_as_empty(value: object) -> object:
    """An erased person's list reads as empty (its ciphertext no longer opens)."""
    return [] if value is None else value


@registry.register
class MentorProfileSet(c.MentorProfileSet):
    _lists = field_validator(
        "industries", "markets", "functions_led", "crisis_experience", mode="before"
    )(_shredded_as_empty)


@registry.register
class IntakeSubmitted(c.IntakeSubmitted):
    personal_fields: ClassVar[tuple[str, ...]] = (
        *c.IntakeSubmitted.personal_fields,
        "motivations",
    )
    motivations: dict[str, str] | None = None  # competency id → why, in their words
    _lists = field_validator("experiences_lacking", mode="before")(_shredded_as_empty)


@registry.register
class DemographicsShared(c.DemographicsShared):
    personal_fields: ClassVar[tuple[str, ...]] = ("attributes",)
    attributes: dict[str, str] | None = None  # type: ignore[assignment]


@registry.register
class CareerOutcomeRecorded(c.CareerOutcomeRecorded):
    personal_fields: ClassVar[tuple[str, ...]] = ("from_title", "to_title")
    from_title: str | None = None
    to_title: str | None = None


@registry.register
@not_personal(person_id="pseudonymous id", purpose="a consent purpose code")
class ConsentGiven(EventPayload):
    person_id: str
    purpose: str
    given_at: datetime


@registry.register
@not_personal(person_id="pseudonymous id", purpose="a consent purpose code")
class ConsentWithdrawn(EventPayload):
    person_id: str
    purpose: str
    withdrawn_at: datetime


registry.register_all(
    c.ProgrammeRolesChanged,
    c.MentorCapacityChanged,
    c.DemographicsWithdrawn,
    c.PersonDeactivated,
    c.PersonReactivated,
    c.PersonErased,
    c.CompetencyDefined,
    c.CompetencyRetired,
    c.CohortCreated,
    c.CohortCapacityChanged,
    c.CohortStageAdvanced,
    c.ParticipantAdmitted,
    c.ParticipantWaitlisted,
    c.ParticipantWithdrew,
)
