"""The programme's risk register (``Risks``): one place for the governance review.

Coordinators and admins keep it; sponsors read it; a risk's owner reads their risk and
updates its mitigation. The ``risks`` table is a projection written with each append.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.fastapi import PrincipalDep
from chassis.auth.principal import Principal, Role
from chassis.db import is_sqlite
from chassis.errors import Forbidden
from chassis.events import EventPayload, RecordedEvent
from chassis.http import metadata_for
from chassis.inputs import Name, Rating, Ref, RequestBody, Text
from chassis.repository import Repository, retrying
from services.advisors.domain.events import registry
from services.advisors.domain.risk import Risk, heat_map, ranked, severity

router = APIRouter(tags=["risk register"])
MANAGERS = (Role.COORDINATOR, Role.ADMIN)
READERS = (*MANAGERS, Role.SPONSOR)
TABLE = """CREATE TABLE IF NOT EXISTS risks (
    risk_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, title TEXT NOT NULL,
    category TEXT NOT NULL, likelihood INTEGER NOT NULL, impact INTEGER NOT NULL,
    owner_id TEXT NOT NULL, mitigation TEXT NOT NULL, status TEXT NOT NULL,
    raised_at TEXT NOT NULL, updated_at TEXT NOT NULL)"""


async def create_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        if not is_sqlite(engine):
            await conn.execute(text("SELECT pg_advisory_xact_lock(7264411)"))
        await conn.execute(text(TABLE))
        await conn.execute(
            text("CREATE INDEX IF NOT EXISTS risks_tenant ON risks (tenant)")
        )


class RiskProjection:
    async def apply(
        self,
        events: Sequence[tuple[RecordedEvent, EventPayload]],
        conn: AsyncConnection,
    ) -> None:
        for recorded, p in events:
            at = recorded.time.isoformat()
            row: dict[str, Any] = {"id": recorded.stream_id, "at": at}
            kind = recorded.event_type
            if kind == "RiskRaised":
                row |= p.model_dump(
                    include={"title", "category", "likelihood", "impact", "owner_id"}
                )
                row |= {"tenant": recorded.tenant, "m": getattr(p, "mitigation", "")}
                sql = (
                    "INSERT INTO risks VALUES (:id, :tenant, :title, :category, "
                    ":likelihood, :impact, :owner_id, :m, 'open', :at, :at)"
                )
            elif kind == "RiskReassessed":
                row |= p.model_dump(include={"likelihood", "impact"})
                sql = "UPDATE risks SET likelihood = :likelihood, impact = :impact"
            elif kind == "RiskMitigationUpdated":
                row |= {"m": getattr(p, "mitigation", ""), "s": p.status}
                sql = "UPDATE risks SET mitigation = :m, status = :s"
            elif kind == "RiskClosed":
                sql = "UPDATE risks SET status = 'closed'"
            else:
                continue
            if sql.startswith("UPDATE"):
                sql += ", updated_at = :at WHERE risk_id = :id"
            await conn.execute(text(sql), row)


def view(risk: Any) -> dict[str, Any]:
    score = risk.likelihood * risk.impact
    return {
        "risk_id": risk.risk_id,
        "title": risk.title,
        "category": risk.category,
        "likelihood": risk.likelihood,
        "impact": risk.impact,
        "score": score,
        "severity": severity(score),
        "owner_id": risk.owner_id,
        "mitigation": risk.mitigation,
        "status": risk.status,
    }


class Risks:
    def __init__(self, runtime: Any) -> None:
        self.engine = runtime.engine
        self.repository = Repository(
            runtime.store, registry, Risk, projections=[RiskProjection()]
        )
        self.repository.on_saved.append(lambda _events: runtime.relay.notify())

    async def raise_risk(self, principal: Principal, **fields: Any) -> dict[str, Any]:
        principal.require(*MANAGERS)
        risk = Risk.raise_new(str(uuid.uuid4()), principal.tenant, **fields)
        await self.repository.save(risk, metadata_for(principal))
        return view(risk)

    async def _change(
        self, principal: Principal, risk_id: Ref, change: Any, *, owner_may: bool
    ) -> dict[str, Any]:
        async def command() -> Risk:
            risk = await self.repository.get(risk_id, principal.tenant)
            if not (owner_may and risk.owner_id == principal.subject):
                principal.require(*MANAGERS)
            change(risk)
            await self.repository.save(risk, metadata_for(principal))
            return risk

        return view(await retrying(command))

    async def reassess(
        self, principal: Principal, risk_id: Ref, likelihood: int, impact: int
    ) -> dict[str, Any]:
        return await self._change(
            principal,
            risk_id,
            lambda r: r.reassess(likelihood, impact),
            owner_may=False,
        )

    async def mitigate(
        self, principal: Principal, risk_id: Ref, mitigation: str, status: str
    ) -> dict[str, Any]:
        return await self._change(
            principal,
            risk_id,
            lambda r: r.update_mitigation(mitigation, status),
            owner_may=True,
        )

    async def close(self, principal: Principal, risk_id: str) -> dict[str, Any]:
        return await self._change(
            principal, risk_id, lambda r: r.close(), owner_may=False
        )

    async def get(self, principal: Principal, risk_id: str) -> dict[str, Any]:
        risk = await self.repository.get(risk_id, principal.tenant)
        if risk.owner_id != principal.subject:
            principal.require(*READERS)
        return view(risk)

    async def register(
        self, principal: Principal, *, include_closed: bool = False
    ) -> dict[str, Any]:
        """The register ranked by likelihood x impact, with its heat map."""
        if not principal.has_role(*READERS):
            raise Forbidden("the risk register is read by coordinators and sponsors")
        sql = "SELECT * FROM risks WHERE tenant = :t"
        if not include_closed:
            sql += " AND status <> 'closed'"
        async with self.engine.connect() as conn:
            rows = (await conn.execute(text(sql), {"t": principal.tenant})).all()
        listed = ranked(rows)
        return {
            "risks": [view(r) | {"raised_at": r.raised_at} for r in listed],
            "heat_map": heat_map(listed),
        }


# -- HTTP -------------------------------------------------------------------------------


def get_risks(request: Request) -> Risks:
    return request.app.state.risks


RisksDep = Annotated[Risks, Depends(get_risks)]
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


def install(app: Any, runtime: Any, _cipher: Any) -> None:
    app.state.risks = Risks(runtime)
    app.state.schema_setups.append(create_schema)
