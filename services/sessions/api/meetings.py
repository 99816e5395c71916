"""Sessions of a relationship over HTTP: schedule, reschedule, agenda, held,
cancelled, missed; free slots; cadence adherence."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import Field
from pydantic_core import to_json

from chassis.http.openapi import problems
from chassis.inputs import (
    FewItems,
    Minutes,
    Ref,
    RequestBody,
    SaneDate,
    SaneDateTime,
    Text,
)
from contracts.api import sessions as api
from contracts.sessions.meetings import CancellationReason, SessionFormat
from services.sessions.api.deps import MeetingsDep, PrincipalDep

Body = RequestBody
Length = Annotated[Minutes, Field(ge=15, le=480)]


class ScheduleIn(Body):
    starts_at: SaneDateTime
    minutes: Length = 60
    format: SessionFormat = SessionFormat.ONE_TO_ONE
    agenda: Text | None = None
    outside_availability: bool = Field(
        False, description="both agreed to meet outside their windows"
    )


class RescheduleIn(Body):
    starts_at: SaneDateTime
    minutes: Length | None = None
    outside_availability: bool = False


class CancelIn(Body):
    reason_code: CancellationReason
    reason: Annotated[Text, Field(max_length=2_000)] | None = Field(
        None, description="kept private"
    )


class HeldIn(Body):
    held_at: SaneDateTime | None = Field(
        None,
        description="when it took place (not in the future, not before the "
        "relationship started); default its planned start",
    )
    minutes: Annotated[Minutes, Field(ge=1, le=480)] | None = None


class MissedIn(Body):
    absent_ids: Annotated[FewItems[Ref], Field(min_length=1, max_length=2)]


class AgendaIn(Body):
    agenda: Annotated[Text, Field(min_length=1)]


router = APIRouter(tags=["sessions"])
R = "/relationships/{relationship_id}"


@router.post(
    R + "/sessions",
    status_code=201,
    responses=problems(403, 404, 409, 410),
    response_model_exclude_unset=True,
)
async def schedule(
    relationship_id: Ref, body: ScheduleIn, principal: PrincipalDep, m: MeetingsDep
) -> api.Session:
    """Schedule a session (contract in force, both free, inside their windows)."""
    return await m.schedule(
        principal,
        relationship_id,
        starts_at=body.starts_at,
        minutes=body.minutes,
        format=body.format,
        agenda=body.agenda,
        outside_availability=body.outside_availability,
    )


@router.get(R + "/sessions", responses=problems(404), response_model=list[api.Session])
async def list_sessions(
    relationship_id: Ref, principal: PrincipalDep, m: MeetingsDep
) -> Response:
    """The relationship's sessions, in time order."""
    # Sent as built (``Meetings.answers``: Session's fields, in its order, as JSON
    # has them), not validated again field by field; the tests hold every answer
    # to the model.
    answers = await m.answers(principal, relationship_id)
    return Response(to_json(answers), media_type="application/json")


@router.get(R + "/slots", responses=problems(404))
async def slots(
    relationship_id: Ref,
    principal: PrincipalDep,
    m: MeetingsDep,
    count: Annotated[int, Query(ge=1, le=20)] = 3,
    from_: Annotated[SaneDateTime | None, Query(alias="from")] = None,
    minutes: Annotated[Length | None, Query()] = None,
) -> api.Slots:
    """The next free slots inside both people's windows, in their time zones."""
    return await m.slots(
        principal, relationship_id, count=count, after=from_, minutes=minutes
    )


@router.get(R + "/cadence", responses=problems(404))
async def cadence(
    relationship_id: Ref,
    principal: PrincipalDep,
    m: MeetingsDep,
    as_of: SaneDate | None = None,
) -> api.CadenceAdherence:
    """Cadence adherence against the contract (see ``cadence_adherence``)."""
    return await m.cadence(principal, relationship_id, as_of)


@router.get(
    "/sessions/{session_id}",
    responses=problems(404),
    response_model_exclude_unset=True,
)
async def get_session(
    session_id: Ref, principal: PrincipalDep, m: MeetingsDep
) -> api.Session:
    """One session; the agenda is shown to the pair only."""
    return await m.get(principal, session_id)


@router.post(
    "/sessions/{session_id}/reschedule",
    responses=problems(403, 404, 409),
    response_model_exclude_unset=True,
)
async def reschedule(
    session_id: Ref, body: RescheduleIn, principal: PrincipalDep, m: MeetingsDep
) -> api.Session:
    """Move the session (calendar SEQUENCE goes up)."""
    return await m.reschedule(
        principal,
        session_id,
        starts_at=body.starts_at,
        minutes=body.minutes,
        outside_availability=body.outside_availability,
    )


@router.put(
    "/sessions/{session_id}/agenda",
    responses=problems(403, 404, 409, 410),
    response_model_exclude_unset=True,
)
async def set_agenda(
    session_id: Ref, body: AgendaIn, principal: PrincipalDep, m: MeetingsDep
) -> api.Session:
    """Set the agenda (the pair only; kept out of events)."""
    return await m.set_agenda(principal, session_id, body.agenda)


@router.post(
    "/sessions/{session_id}/cancel",
    responses=problems(403, 404, 409, 410),
    response_model_exclude_unset=True,
)
async def cancel(
    session_id: Ref, body: CancelIn, principal: PrincipalDep, m: MeetingsDep
) -> api.Session:
    """Cancel the session, with a reason code (and a private explanation)."""
    return await m.cancel(
        principal, session_id, reason_code=body.reason_code, reason=body.reason
    )


@router.post(
    "/sessions/{session_id}/held",
    responses=problems(403, 404, 409),
    response_model_exclude_unset=True,
)
async def held(
    session_id: Ref, body: HeldIn, principal: PrincipalDep, m: MeetingsDep
) -> api.Session:
    """Record that the session took place."""
    return await m.hold(
        principal, session_id, held_at=body.held_at, minutes=body.minutes
    )


@router.post(
    "/sessions/{session_id}/missed",
    responses=problems(403, 404, 409),
    response_model_exclude_unset=True,
)
async def missed(
    session_id: Ref, body: MissedIn, principal: PrincipalDep, m: MeetingsDep
) -> api.Session:
    """Record a no-show (who did not come)."""
    return await m.miss(principal, session_id, body.absent_ids)
