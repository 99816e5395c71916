"""Routes of the programme's risk register, over ``Risks`` (``application/risks.py``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import Field

from chassis.auth.fastapi import PrincipalDep
from chassis.inputs import Name, Rating, Ref, RequestBody, Text
from services.advisors.api.deps import RisksDep

router = APIRouter(tags=["risk register"])
Score = Rating
Body = RequestBody


class RiskIn(Body):
    title: Name
    category: Annotated[Name, Field(max_length=60)]
    likelihood: Score
    impact: Score
    owner_id: Ref
    mitigation: Text = ""


class AssessmentIn(Body):
    likelihood: Score
    impact: Score


class MitigationIn(Body):
    mitigation: Annotated[Text, Field(min_length=1)]
    status: Literal["open", "mitigating"] = "mitigating"


@router.post("/risks", status_code=201)
async def raise_risk(
    body: RiskIn, principal: PrincipalDep, risks: RisksDep
) -> dict[str, Any]:
    """Add a risk to the programme's register."""
    return await risks.raise_risk(principal, **body.model_dump())


@router.get("/risks")
async def list_risks(
    principal: PrincipalDep, risks: RisksDep, include_closed: bool = False
) -> dict[str, Any]:
    """The register, highest likelihood x impact first, and its 5x5 heat map."""
    return await risks.register(principal, include_closed=include_closed)


@router.get("/risks/{risk_id}")
async def get_risk(
    risk_id: Ref, principal: PrincipalDep, risks: RisksDep
) -> dict[str, Any]:
    """One risk as it stands."""
    return await risks.get(principal, risk_id)


@router.put("/risks/{risk_id}/assessment")
async def reassess(
    risk_id: Ref, body: AssessmentIn, principal: PrincipalDep, risks: RisksDep
) -> dict[str, Any]:
    """Score the risk again."""
    return await risks.reassess(principal, risk_id, body.likelihood, body.impact)


@router.put("/risks/{risk_id}/mitigation")
async def mitigate(
    risk_id: Ref, body: MitigationIn, principal: PrincipalDep, risks: RisksDep
) -> dict[str, Any]:
    """Record the mitigation plan (its owner may too)."""
    return await risks.mitigate(principal, risk_id, body.mitigation, body.status)


@router.post("/risks/{risk_id}/close")
async def close(
    risk_id: Ref, principal: PrincipalDep, risks: RisksDep
) -> dict[str, Any]:
    """Close the risk: it leaves the register's open view."""
    return await risks.close(principal, risk_id)
