"""Routes of the programme's risk register, over ``Risks`` (``application/risks.py``)."""

from __future__ import annotations

from fastapi import APIRouter

from chassis.auth.fastapi import PrincipalDep
from chassis.http.openapi import problems
from chassis.inputs import Ref
from contracts.api.advisors import (
    AssessmentIn,
    MitigationIn,
    RiskIn,
    RiskRegister,
    RiskView,
)
from services.advisors.api.deps import RisksDep

router = APIRouter(tags=["risk register"])
# Changing a risk: not allowed, no such risk, closed (or a concurrent change).
CHANGE = problems(403, 404, 409)


@router.post("/risks", status_code=201, responses=problems(403))
async def raise_risk(
    body: RiskIn, principal: PrincipalDep, risks: RisksDep
) -> RiskView:
    """Add a risk to the programme's register."""
    return await risks.raise_risk(principal, **body.model_dump())


@router.get("/risks", responses=problems(403))
async def list_risks(
    principal: PrincipalDep, risks: RisksDep, include_closed: bool = False
) -> RiskRegister:
    """The register, highest likelihood x impact first, and its 5x5 heat map."""
    return await risks.register(principal, include_closed=include_closed)


@router.get("/risks/{risk_id}", responses=problems(403, 404))
async def get_risk(risk_id: Ref, principal: PrincipalDep, risks: RisksDep) -> RiskView:
    """One risk as it stands."""
    return await risks.get(principal, risk_id)


@router.put("/risks/{risk_id}/assessment", responses=CHANGE)
async def reassess(
    risk_id: Ref, body: AssessmentIn, principal: PrincipalDep, risks: RisksDep
) -> RiskView:
    """Score the risk again."""
    return await risks.reassess(principal, risk_id, body.likelihood, body.impact)


@router.put("/risks/{risk_id}/mitigation", responses=CHANGE)
async def mitigate(
    risk_id: Ref, body: MitigationIn, principal: PrincipalDep, risks: RisksDep
) -> RiskView:
    """Record the mitigation plan (its owner may too)."""
    return await risks.mitigate(principal, risk_id, body.mitigation, body.status)


@router.post("/risks/{risk_id}/close", responses=CHANGE)
async def close(risk_id: Ref, principal: PrincipalDep, risks: RisksDep) -> RiskView:
    """Close the risk: it leaves the register's open view."""
    return await risks.close(principal, risk_id)
