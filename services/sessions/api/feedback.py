"""Feedback after sessions and milestones over HTTP."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from chassis.inputs import Int32, Ref, RequestBody, Text
from contracts.sessions.notes import FeedbackAbout
from services.sessions.api.deps import FeedbackDep, PrincipalDep

router = APIRouter(tags=["feedback"])


class FeedbackIn(RequestBody):
    about: FeedbackAbout
    subject_id: Ref = Field(description="the held session or the milestone")
    # the domain says what is out of 1..5 (InvalidRating); here only the column
    rating: Int32 = Field(description="1 to 5")
    comment: Text | None = None


@router.post("/relationships/{relationship_id}/feedback", status_code=201)
async def give_feedback(
    relationship_id: Ref, body: FeedbackIn, principal: PrincipalDep, fb: FeedbackDep
) -> dict[str, Any]:
    """Rate a session or milestone (either side, once each), with a private comment."""
    return await fb.give(principal, relationship_id, **body.model_dump())


@router.get("/relationships/{relationship_id}/feedback")
async def list_feedback(
    relationship_id: Ref, principal: PrincipalDep, fb: FeedbackDep
) -> list[dict[str, Any]]:
    """Feedback in a relationship: comments for the pair, ratings for overseers."""
    return await fb.list(principal, relationship_id)
