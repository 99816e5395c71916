"""Anonymous pulse surveys over HTTP (what anonymous means: ``application/pulse.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import Field

from chassis.http.openapi import problems
from chassis.inputs import Count, FewItems, Int32, Name, Ref, RequestBody, SaneDateTime
from contracts.api import sessions as api
from services.sessions.api.deps import PrincipalDep, PulseDep

router = APIRouter(tags=["pulse surveys"])


class SurveyIn(RequestBody):
    cohort_id: Ref | None = Field(None, description="omit for the whole tenant")
    questions: Annotated[FewItems[Name], Field(min_length=1, max_length=20)]
    closes_at: SaneDateTime
    k: Annotated[Count, Field(ge=3, le=100)] | None = Field(
        None,
        description="fewest respondents ever reported: the organisation's k "
        "(K_ANONYMITY) when omitted, and raised to it when lower",
    )


class ResponseIn(RequestBody):
    # the domain refuses what is out of 1..5 (InvalidAnswers, its own typed problem);
    # the schema shows the rule, the model checks only the column
    answers: FewItems[
        Annotated[Int32, Field(json_schema_extra={"minimum": 1, "maximum": 5})]
    ] = Field(description="one rating 1-5 per question, in order")


@router.post("/pulse-surveys", status_code=201, responses=problems(403))
async def open_survey(
    body: SurveyIn, principal: PrincipalDep, pulse: PulseDep
) -> api.PulseSurvey:
    """Open an anonymous pulse survey for a cohort or the tenant (coordinators)."""
    return await pulse.open_survey(principal, **body.model_dump())


@router.get("/pulse-surveys/{survey_id}", responses=problems(404))
async def get_survey(
    survey_id: Ref, principal: PrincipalDep, pulse: PulseDep
) -> api.PulseSurvey:
    """The survey's questions, deadline and k."""
    return await pulse.survey(principal, survey_id)


@router.post(
    "/pulse-surveys/{survey_id}/responses",
    status_code=204,
    responses=problems(403, 404, 409),
)
async def respond(
    survey_id: Ref, body: ResponseIn, principal: PrincipalDep, pulse: PulseDep
) -> None:
    """Answer once; the answer is stored with no link to who gave it."""
    await pulse.respond(principal, survey_id, body.answers)


@router.post(
    "/pulse-surveys/{survey_id}/close",
    status_code=204,
    responses=problems(403, 404, 409),
)
async def close_survey(
    survey_id: Ref, principal: PrincipalDep, pulse: PulseDep
) -> None:
    """Close the survey; aggregates are published only over at least k respondents."""
    await pulse.close_survey(principal, survey_id)


@router.get(
    "/pulse-surveys/{survey_id}/results",
    responses=problems(403, 404),
    response_model_exclude_unset=True,
)
async def results(
    survey_id: Ref, principal: PrincipalDep, pulse: PulseDep
) -> api.PulseResults:
    """Aggregates when at least k answered; otherwise only that they are suppressed."""
    return await pulse.results(principal, survey_id)
