"""Feedback after sessions and milestones over HTTP."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from chassis.http.openapi import problems
from chassis.inputs import Int32, Ref, RequestBody, SaneDateTime, Text
from contracts.api import sessions as api
from contracts.sessions.notes import FeedbackAbout
from services.sessions.api.deps import FeedbackDep, PrincipalDep

router = APIRouter(tags=["feedback"])


class FeedbackIn(RequestBody):
    about: FeedbackAbout
    subject_id: Ref = Field(description="the held session or the milestone")
    # the domain refuses what is out of 1..5 (InvalidRating, its own typed problem);
    # the schema shows the rule, the model checks only the column
    rating: Int32 = Field(
        description="1 to 5", json_schema_extra={"minimum": 1, "maximum": 5}
    )
    comment: Text | None = None
    given_at: SaneDateTime | None = Field(
        None,
        description="when it was given, when recording history (not in the future, "
        "not before the session it rates was held or the milestone was set); "
        "default now",
    )


@router.post(
    "/relationships/{relationship_id}/feedback",
    status_code=201,
    responses=problems(403, 404, 409, 410),
    response_model_exclude_unset=True,
)
async def give_feedback(
    relationship_id: Ref, body: FeedbackIn, principal: PrincipalDep, fb: FeedbackDep
) -> api.Feedback:
    """Rate a session or milestone (either side, once each), with a private comment."""
    return await fb.give(principal, relationship_id, **body.model_dump())


@router.get(
    "/relationships/{relationship_id}/feedback",
    responses=problems(404),
    response_model_exclude_unset=True,
)
async def list_feedback(
    relationship_id: Ref, principal: PrincipalDep, fb: FeedbackDep
) -> list[api.Feedback]:
    """Feedback in a relationship: comments for the pair, ratings for overseers."""
    return await fb.list(principal, relationship_id)
