"""Sessions as iCalendar over HTTP: a person's secret feed and one session's file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from chassis.http.openapi import problems
from chassis.inputs import Code, Ref
from contracts.api import sessions as api
from services.sessions.api.deps import CalendarDep, PrincipalDep
from services.sessions.application.calendar import ICS

router = APIRouter(tags=["calendar"])


ICS_ANSWER = {"content": {"text/calendar": {"schema": {"type": "string"}}}}


@router.post("/calendar/token")
async def mint_token(
    principal: PrincipalDep, calendar: CalendarDep
) -> api.CalendarToken:
    """Mint (or rotate) the caller's secret calendar feed address."""
    token = await calendar.mint(principal.tenant, principal.subject)
    path = f"/calendar/{principal.subject}.ics?token={token}"
    return api.CalendarToken(person_id=principal.subject, token=token, feed_path=path)


@router.get(
    "/calendar/{person_id}.ics",
    response_class=Response,
    responses={200: ICS_ANSWER, **problems(404)},
)
async def feed(
    person_id: Ref, token: Annotated[Code, Query()], calendar: CalendarDep
) -> Response:
    """A person's sessions as an iCalendar feed (the token is the credential)."""
    body = await calendar.feed(person_id, token)
    return Response(body, media_type=ICS, headers={"Cache-Control": "private"})


@router.get(
    "/sessions/{session_id}.ics",
    response_class=Response,
    responses={200: ICS_ANSWER, **problems(404)},
)
async def session_ics(
    session_id: Ref, principal: PrincipalDep, calendar: CalendarDep
) -> Response:
    """One session as an .ics file (for its pair)."""
    return Response(
        await calendar.session_ics(principal, session_id),
        media_type=ICS,
        headers={"Content-Disposition": f'attachment; filename="{session_id}.ics"'},
    )
