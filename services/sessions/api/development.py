"""Milestones, check-ins, rotations and escalations of a relationship."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import Field
from pydantic_core import to_json

from chassis.http.openapi import problems
from chassis.inputs import (
    FewItems,
    Index,
    Int32,
    Name,
    OptionalName,
    Ref,
    RequestBody,
    SaneDate,
    Text,
)
from contracts.api import sessions as api
from contracts.sessions import development as d
from services.sessions.api.deps import DevelopmentDep, PrincipalDep

router = APIRouter(tags=["development"])


Body = RequestBody


class MilestoneIn(Body):
    objective_index: Index = Field(description="which objective of the contract")
    label: Name
    due_on: SaneDate = Field(
        description="on or after the day it is set (today, UTC, unless set_on)"
    )
    # at least one non-blank: the domain refuses fewer (CriteriaRequired, its own
    # typed problem); the schema shows the rule
    criteria: Annotated[FewItems[OptionalName], Field(max_length=20)] = Field(
        description="success criteria, one line each (at least one non-blank)",
        json_schema_extra={"minItems": 1},
    )
    set_on: SaneDate | None = Field(
        None,
        description="the day it was agreed, when recording history (not after "
        "today, not before the relationship started); default today (UTC)",
    )


class StatusIn(Body):
    status: api.MilestoneReport


class AchieveIn(Body):
    evidence: Text
    achieved_on: SaneDate | None = Field(
        None,
        description="the day it was achieved (not after today, not before it was "
        "set); default today (UTC)",
    )


class CheckInIn(Body):
    kind: d.CheckInKind
    # the domain refuses what is out of 1..5 (AlignmentOutOfRange, its own typed
    # problem); the schema shows the rule, the model checks only the column
    alignment: Int32 = Field(
        description="alignment with the objectives, 1 to 5",
        json_schema_extra={"minimum": 1, "maximum": 5},
    )
    sponsor_id: Ref | None = Field(None, description="required for a quarterly review")
    held_on: SaneDate | None = Field(
        None,
        description="the day it took place (not after today, not before the "
        "relationship started); default today (UTC)",
    )
    correction: Text | None = None


class RotationIn(Body):
    relationship_id: Ref
    function: Name | None = None
    market: Name | None = None
    host_id: Ref
    starts_on: SaneDate
    ends_on: SaneDate
    project_kind: d.ProjectKind
    project: Text | None = None


class DebriefIn(Body):
    reflection: Text
    goal_competency_ids: FewItems[Ref]


class EscalationIn(Body):
    category: d.EscalationCategory
    detail: Text | None = None


class ResolutionIn(Body):
    outcome: d.EscalationOutcome
    note: Text | None = None


Item = api.DevelopmentItem


def _sent(answers: Sequence[dict[str, Any]]) -> Response:
    """A list of items sent as built (``item_answer``: the model's fields the items
    have, in its order), not validated again field by field; the tests hold every
    answer to the model."""
    return Response(to_json(answers), media_type="application/json")


@router.post(
    "/relationships/{relationship_id}/milestones",
    status_code=201,
    responses=problems(403, 404, 409, 410),
    response_model_exclude_unset=True,
)
async def set_milestone(
    relationship_id: Ref, body: MilestoneIn, p: PrincipalDep, dev: DevelopmentDep
) -> Item:
    """Set a milestone on an objective of the contract (the pair or a coordinator)."""
    return await dev.set_milestone(p, relationship_id, **body.model_dump())


@router.get(
    "/relationships/{relationship_id}/milestones",
    responses=problems(404),
    response_model=list[Item],
    response_model_exclude_unset=True,
)
async def list_milestones(
    relationship_id: Ref, p: PrincipalDep, dev: DevelopmentDep
) -> Response:
    """The relationship's milestones."""
    return _sent(await dev.listed_answers(p, api.ItemKind.MILESTONE, relationship_id))


@router.get(
    "/milestones/{milestone_id}",
    responses=problems(404),
    response_model_exclude_unset=True,
)
async def get_milestone(
    milestone_id: Ref, p: PrincipalDep, dev: DevelopmentDep
) -> Item:
    """One milestone."""
    return await dev.item(p, milestone_id, api.ItemKind.MILESTONE)


@router.post(
    "/milestones/{milestone_id}/status",
    responses=problems(403, 404, 409),
    response_model_exclude_unset=True,
)
async def change_status(
    milestone_id: Ref, body: StatusIn, p: PrincipalDep, dev: DevelopmentDep
) -> Item:
    """Report progress, or mark the milestone missed once it is overdue."""
    return await dev.change_milestone(p, milestone_id, body.status)


@router.post(
    "/milestones/{milestone_id}/achieve",
    responses=problems(403, 404, 409, 410),
    response_model_exclude_unset=True,
)
async def achieve(
    milestone_id: Ref, body: AchieveIn, p: PrincipalDep, dev: DevelopmentDep
) -> Item:
    """Confirm achievement with evidence (the mentor or a coordinator)."""
    return await dev.achieve(p, milestone_id, body.evidence, body.achieved_on)


@router.get(
    "/milestones/{milestone_id}/certificate",
    responses=problems(404),
)
async def certificate(
    milestone_id: Ref, p: PrincipalDep, dev: DevelopmentDep
) -> api.Certificate:
    """The certificate-ready record of an achieved milestone (ids, no names)."""
    return await dev.certificate(p, milestone_id)


@router.post(
    "/relationships/{relationship_id}/check-ins",
    status_code=201,
    responses=problems(403, 404, 409, 410),
    response_model_exclude_unset=True,
)
async def check_in(
    relationship_id: Ref, body: CheckInIn, p: PrincipalDep, dev: DevelopmentDep
) -> Item:
    """Record a monthly alignment check or a quarterly review with the sponsor."""
    return await dev.check_in(p, relationship_id, **body.model_dump())


@router.get(
    "/relationships/{relationship_id}/check-ins",
    responses=problems(404),
    response_model=list[Item],
    response_model_exclude_unset=True,
)
async def list_check_ins(
    relationship_id: Ref, p: PrincipalDep, dev: DevelopmentDep
) -> Response:
    """The relationship's check-ins."""
    return _sent(await dev.listed_answers(p, api.ItemKind.CHECK_IN, relationship_id))


@router.post(
    "/rotations",
    status_code=201,
    responses=problems(403, 404, 409, 410),
    response_model_exclude_unset=True,
)
async def assign_rotation(
    body: RotationIn, p: PrincipalDep, dev: DevelopmentDep
) -> Item:
    """Place the mentee for two to four weeks in another function or market."""
    return await dev.assign_rotation(p, **body.model_dump())


@router.get(
    "/relationships/{relationship_id}/rotations",
    responses=problems(404),
    response_model=list[Item],
    response_model_exclude_unset=True,
)
async def list_rotations(
    relationship_id: Ref, p: PrincipalDep, dev: DevelopmentDep
) -> Response:
    """The relationship's rotations."""
    return _sent(await dev.listed_answers(p, api.ItemKind.ROTATION, relationship_id))


@router.get(
    "/rotations/{rotation_id}",
    responses=problems(404),
    response_model_exclude_unset=True,
)
async def get_rotation(rotation_id: Ref, p: PrincipalDep, dev: DevelopmentDep) -> Item:
    """One rotation."""
    return await dev.item(p, rotation_id, api.ItemKind.ROTATION)


@router.post(
    "/rotations/{rotation_id}/debrief",
    responses=problems(403, 404, 409, 410),
    response_model_exclude_unset=True,
)
async def debrief(
    rotation_id: Ref, body: DebriefIn, p: PrincipalDep, dev: DevelopmentDep
) -> Item:
    """The leader's reflective debrief, linked to their goals."""
    return await dev.debrief(p, rotation_id, **body.model_dump())


@router.post(
    "/rotations/{rotation_id}/complete",
    responses=problems(403, 404, 409),
    response_model_exclude_unset=True,
)
async def complete(rotation_id: Ref, p: PrincipalDep, dev: DevelopmentDep) -> Item:
    """Complete a debriefed rotation."""
    return await dev.complete_rotation(p, rotation_id)


@router.post(
    "/relationships/{relationship_id}/escalations",
    status_code=201,
    responses=problems(403, 404, 409, 410),
    response_model_exclude_unset=True,
)
async def escalate(
    relationship_id: Ref, body: EscalationIn, p: PrincipalDep, dev: DevelopmentDep
) -> Item:
    """Raise a concern to the coordinator (the mentor or the mentee)."""
    return await dev.escalate(p, relationship_id, **body.model_dump())


@router.get(
    "/escalations",
    response_model_exclude_unset=True,
)
async def list_escalations(
    p: PrincipalDep,
    dev: DevelopmentDep,
    state: api.EscalationState | None = None,
) -> list[Item]:
    """Coordinators: every escalation of the tenant; others: those they raised."""
    return await dev.escalations(p, state)


@router.post(
    "/escalations/{escalation_id}/resolve",
    responses=problems(403, 404, 409, 410),
    response_model_exclude_unset=True,
)
async def resolve(
    escalation_id: Ref, body: ResolutionIn, p: PrincipalDep, dev: DevelopmentDep
) -> Item:
    """Resolve an escalation; ``repair_requested`` asks matching to re-pair."""
    return await dev.resolve(p, escalation_id, **body.model_dump())
