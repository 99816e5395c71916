"""Anonymous pulse surveys over HTTP (what anonymous means: ``application/pulse.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field

from chassis.inputs import Count, FewItems, Int32, Name, Ref, RequestBody, SaneDateTime
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
    # the domain says what is out of 1..5 (InvalidAnswers); here only the column
    answers: FewItems[Int32] = Field(
        description="one rating 1-5 per question, in order"
    )


@router.post("/pulse-surveys", status_code=201)
async def open_survey(
    body: SurveyIn, principal: PrincipalDep, pulse: PulseDep
) -> dict[str, Any]:
    """Open an anonymous pulse survey for a cohort or the tenant (coordinators)."""
    return await pulse.open_survey(principal, **body.model_dump())


@router.get("/pulse-surveys/{survey_id}")
async def get_survey(
    survey_id: Ref, principal: PrincipalDep, pulse: PulseDep
) -> dict[str, Any]:
    """The survey's questions, deadline and k."""
    return await pulse.survey(principal, survey_id)


@router.post("/pulse-surveys/{survey_id}/responses", status_code=204)
async def respond(
    survey_id: Ref, body: ResponseIn, principal: PrincipalDep, pulse: PulseDep
) -> None:
    """Answer once; the answer is stored with no link to who gave it."""
    await pulse.respond(principal, survey_id, body.answers)


@router.post("/pulse-surveys/{survey_id}/close", status_code=204)
async def close_survey(
    survey_id: Ref, principal: PrincipalDep, pulse: PulseDep
) -> None:
    """Close the survey; aggregates are published only over at least k respondents."""
    await pulse.close_survey(principal, survey_id)


@router.get("/pulse-surveys/{survey_id}/results")
async def results(
    survey_id: Ref, principal: PrincipalDep, pulse: PulseDep
) -> dict[str, Any]:
    """Aggregates when at least k answered; otherwise only that they are suppressed."""
    return await pulse.results(principal, survey_id)
