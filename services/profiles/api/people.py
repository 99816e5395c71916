"""People: registration, HR details, roles, catalogue, intake, consent, erasure."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from chassis.http.openapi import problems
from chassis.inputs import Name, Ref
from contracts.api.profiles import (
    IntakeIn,
    MentorProfileIn,
    People,
    Person,
    PersonPage,
    RegisteredPerson,
)
from contracts.profiles import ChangeSource, PersonStatus, ProgrammeRole
from services.profiles.api.deps import PrincipalDep, ProfilesDep
from services.profiles.api.models import (
    BatchIn,
    CapacityIn,
    ConsentIn,
    DeactivateIn,
    DemographicsIn,
    OutcomeIn,
    RegisterPerson,
    Roles,
    UpdatePerson,
)

router = APIRouter(prefix="/people", tags=["people"])

# A command on a person: not theirs to change (403), no such person (404), a concurrent
# change won (409), the person was erased (410).
_COMMAND = problems(403, 404, 409, 410)
# A person answers only the fields the caller may see (``Person``): the routes answering
# people leave the unset fields out (``response_model_exclude_unset``), not null.


@router.post("", status_code=201, responses=problems(403, 409))
async def register_person(
    body: RegisterPerson, principal: PrincipalDep, profiles: ProfilesDep
) -> RegisteredPerson:
    """Register a person (coordinators, admins, integrations); 409 when the email or
    the employee id is already registered."""
    person_id = await profiles.register(principal, body.details(), list(body.roles))
    return RegisteredPerson(person_id=person_id)


@router.get("", response_model_exclude_unset=True)
async def list_people(
    principal: PrincipalDep,
    profiles: ProfilesDep,
    cohort_id: Ref | None = None,
    business_unit: Name | None = None,
    role: ProgrammeRole | None = None,
    status: PersonStatus | None = None,
    after: Ref | None = Query(
        None, description="Cursor: the `next` of the previous page"
    ),
    limit: int = Query(50, ge=1, le=500),
) -> PersonPage:
    """A page of people, filtered; follow `next` for the following page."""
    return await profiles.list_people(
        principal,
        cohort_id=cohort_id,
        business_unit=business_unit,
        role=role,
        status=status,
        after=after,
        limit=limit,
    )


@router.post("/batch", response_model_exclude_unset=True)
async def people_by_ids(
    body: BatchIn, principal: PrincipalDep, profiles: ProfilesDep
) -> People:
    """Several people in one call, in the order asked (unknown ids are left out)."""
    return People(items=await profiles.people_by_ids(principal, body.ids))


@router.get("/{person_id}", responses=problems(404), response_model_exclude_unset=True)
async def get_person(
    person_id: Ref, principal: PrincipalDep, profiles: ProfilesDep
) -> Person:
    """One person, as the caller may see them."""
    return await profiles.person(principal, person_id)


@router.put("/{person_id}", responses=_COMMAND, response_model_exclude_unset=True)
async def update_person(
    person_id: Ref, body: UpdatePerson, principal: PrincipalDep, profiles: ProfilesDep
) -> Person:
    """Replace HR details; a level or title change is recorded as a career outcome."""
    await profiles.update_details(
        principal,
        person_id,
        body.details(),
        source=ChangeSource.COORDINATOR,
        effective_on=body.effective_on,
    )
    return await profiles.person(principal, person_id)


@router.put("/{person_id}/roles", status_code=204, responses=_COMMAND)
async def change_roles(
    person_id: Ref, body: Roles, principal: PrincipalDep, profiles: ProfilesDep
) -> None:
    """Set the person's programme roles."""
    await profiles.change_roles(principal, person_id, list(body.roles))


@router.put("/{person_id}/mentor-profile", status_code=204, responses=_COMMAND)
async def set_mentor_profile(
    person_id: Ref,
    body: MentorProfileIn,
    principal: PrincipalDep,
    profiles: ProfilesDep,
) -> None:
    """List a mentor in the catalogue: strengths, experience, formats, capacity."""
    await profiles.set_mentor_profile(principal, person_id, body)


@router.put("/{person_id}/capacity", status_code=204, responses=_COMMAND)
async def change_capacity(
    person_id: Ref, body: CapacityIn, principal: PrincipalDep, profiles: ProfilesDep
) -> None:
    """Change a mentor's capacity; never below the mentees they have now."""
    await profiles.change_capacity(
        principal, person_id, body.max_mentees, body.hours_per_month
    )


@router.put("/{person_id}/intake", status_code=204, responses=_COMMAND)
async def submit_intake(
    person_id: Ref, body: IntakeIn, principal: PrincipalDep, profiles: ProfilesDep
) -> None:
    """A mentee's development goals and preferences."""
    await profiles.submit_intake(principal, person_id, body)


@router.put("/{person_id}/consents/{purpose}", status_code=204, responses=_COMMAND)
async def set_consent(
    person_id: Ref,
    purpose: Ref,
    body: ConsentIn,
    principal: PrincipalDep,
    profiles: ProfilesDep,
) -> None:
    """Give or withdraw consent for a purpose (e.g. `demographics`)."""
    await profiles.set_consent(principal, person_id, purpose, body.given)


@router.put("/{person_id}/demographics", status_code=204, responses=_COMMAND)
async def share_demographics(
    person_id: Ref, body: DemographicsIn, principal: PrincipalDep, profiles: ProfilesDep
) -> None:
    """Self-reported demographics, held only with consent (the person only)."""
    await profiles.share_demographics(principal, person_id, body.attributes)


@router.post("/{person_id}/outcomes", status_code=204, responses=_COMMAND)
async def record_outcome(
    person_id: Ref, body: OutcomeIn, principal: PrincipalDep, profiles: ProfilesDep
) -> None:
    """Record an HR outcome the HRIS did not send (coordinators)."""
    await profiles.record_outcome(
        principal, person_id, body.kind, body.effective_on, body.to_level, body.to_title
    )


@router.post("/{person_id}/deactivate", status_code=204, responses=_COMMAND)
async def deactivate(
    person_id: Ref, body: DeactivateIn, principal: PrincipalDep, profiles: ProfilesDep
) -> None:
    """Deactivate (left the programme, or the company: reason `departure`), today
    or since `effective_on`."""
    await profiles.deactivate(
        principal, person_id, body.reason, effective_on=body.effective_on
    )


@router.post("/{person_id}/reactivate", status_code=204, responses=_COMMAND)
async def reactivate(
    person_id: Ref, principal: PrincipalDep, profiles: ProfilesDep
) -> None:
    """Reactivate a deactivated person."""
    await profiles.reactivate(principal, person_id)


@router.delete("/{person_id}", status_code=204, responses=_COMMAND)
async def erase(
    person_id: Ref, principal: PrincipalDep, profiles: ProfilesDep
) -> Response:
    """Erase a person: their key is destroyed and every service forgets them."""
    await profiles.erase(principal, person_id)
    return Response(status_code=204)
