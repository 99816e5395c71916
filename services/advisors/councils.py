"""Advisory councils (``Councils``): charter, members, meetings, recommendations and
their follow-up; the decisions page when the charter publishes decisions.

Coordinators and admins run councils; sponsors read them and decide recommendations
(a sponsor who is a member of the council, or any coordinator); members read their
councils. Agendas are encrypted under the council's key (the service's cipher).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.fastapi import PrincipalDep
from chassis.auth.principal import Principal, Role
from chassis.db import is_sqlite
from chassis.errors import FieldError, NotFound, ValidationFailed
from chassis.events import EventPayload, RecordedEvent, utcnow
from chassis.http import metadata_for
from chassis.inputs import Code, Int32, Name, Ref, RequestBody, SaneDate, Text
from chassis.inputs import Items as ListOf
from chassis.repository import Repository, retrying
from services.advisors import risks
from services.advisors.domain.council import Council, Recommendation
from services.advisors.domain.events import registry

router = APIRouter(tags=["councils"])
MANAGERS = (Role.COORDINATOR, Role.ADMIN)
READERS = (*MANAGERS, Role.SPONSOR)
TABLES = [
    """CREATE TABLE IF NOT EXISTS councils (
        council_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL,
        purpose TEXT NOT NULL, cadence_weeks INTEGER NOT NULL,
        publish_decisions BOOLEAN NOT NULL, chartered_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS council_members (
        council_id TEXT NOT NULL, member_id TEXT NOT NULL, tenant TEXT NOT NULL,
        kind TEXT NOT NULL, PRIMARY KEY (council_id, member_id))""",
    """CREATE TABLE IF NOT EXISTS council_recommendations (
        recommendation_id TEXT PRIMARY KEY, council_id TEXT NOT NULL,
        tenant TEXT NOT NULL)""",
]


async def create_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        if not is_sqlite(engine):
            await conn.execute(text("SELECT pg_advisory_xact_lock(7264410)"))
        for statement in TABLES:
            await conn.execute(text(statement))


PROJECTED = {
    "CouncilChartered": "INSERT INTO councils VALUES (:council_id, :tenant, :name, "
    ":purpose, :cadence_weeks, :publish_decisions, :at)",
    "CouncilMemberAdded": "INSERT INTO council_members VALUES "
    "(:council_id, :member_id, :tenant, :kind)",
    "CouncilMemberRemoved": "DELETE FROM council_members "
    "WHERE council_id = :council_id AND member_id = :member_id",
    "RecommendationMade": "INSERT INTO council_recommendations VALUES "
    "(:recommendation_id, :council_id, :tenant)",
}


class CouncilProjection:
    """Which councils exist, who sits on them, where each recommendation lives."""

    async def apply(
        self,
        events: Sequence[tuple[RecordedEvent, EventPayload]],
        conn: AsyncConnection,
    ) -> None:
        for recorded, p in events:
            sql = PROJECTED.get(recorded.event_type)
            if sql is not None:
                row = p.model_dump() | {"tenant": recorded.tenant}
                await conn.execute(text(sql), row | {"at": recorded.time.isoformat()})


def recommendation_view(rec: Recommendation) -> dict[str, Any]:
    return {
        "recommendation_id": rec.id,
        "meeting_id": rec.meeting_id,
        "title": rec.title,
        "made_by": rec.made_by,
        "made_at": rec.made_at.isoformat(),
        "status": rec.status,
        "age_days": rec.age_days(utcnow()),
        "decided_by": rec.decided_by,
        "decided_at": rec.decided_at.isoformat() if rec.decided_at else None,
        "rationale": rec.rationale,
    }


def council_view(council: Council) -> dict[str, Any]:
    charter = council.charter
    assert charter is not None
    due = council.next_meeting_due()
    return {
        "council_id": council.id,
        "name": charter.name,
        "purpose": charter.purpose,
        "decision_rights": charter.decision_rights,
        "cadence_weeks": charter.cadence_weeks,
        "publish_decisions": charter.publish_decisions,
        "members": [{"member_id": m, "kind": k} for m, k in council.members.items()],
        "meetings": [
            {
                "meeting_id": m.meeting_id,
                "held_on": m.held_on.isoformat(),
                "attendees": m.attendees,
                "agenda_items": m.agenda_items,
                "agenda": m.agenda,
            }
            for m in council.meetings.values()
        ],
        "next_meeting_due": due.isoformat() if due else None,
        "meeting_overdue": bool(due and due < utcnow().date()),
        "recommendations": len(council.recommendations),
    }


class Councils:
    def __init__(self, runtime: Any, cipher: Any) -> None:
        self.engine = runtime.engine
        self.repository = Repository(
            runtime.store,
            registry,
            Council,
            codec=cipher,
            projections=[CouncilProjection()],
        )
        self.repository.on_saved.append(lambda _events: runtime.relay.notify())

    async def charter(self, principal: Principal, **fields: Any) -> dict[str, Any]:
        principal.require(*MANAGERS)
        council = Council.charter_new(str(uuid.uuid4()), principal.tenant, **fields)
        await self.repository.save(council, metadata_for(principal))
        return council_view(council)

    async def read(self, principal: Principal, council_id: str) -> Council:
        """The council, for a coordinator, a sponsor or one of its members."""
        council = await self.repository.get(council_id, principal.tenant)
        if not council.is_member(principal.subject):
            principal.require(*READERS)
        return council

    async def change(
        self, principal: Principal, council_id: Ref, command: Any
    ) -> Council:
        """Load, decide (``command(council)``), save; again on a concurrent write."""

        async def attempt() -> Council:
            council = await self.repository.get(council_id, principal.tenant)
            command(council)
            await self.repository.save(council, metadata_for(principal))
            return council

        return await retrying(attempt)

    async def council_of(self, principal: Principal, recommendation_id: str) -> str:
        async with self.engine.connect() as conn:
            found = await conn.scalar(
                text(
                    "SELECT council_id FROM council_recommendations "
                    "WHERE recommendation_id = :r AND tenant = :t"
                ),
                {"r": recommendation_id, "t": principal.tenant},
            )
        if found is None:
            raise NotFound(f"recommendation {recommendation_id} not found")
        return str(found)

    async def decide(
        self, principal: Principal, recommendation_id: Ref, verb: str, **kw: Any
    ) -> dict[str, Any]:
        """Accept, reject or implement: a member sponsor or a coordinator decides."""
        council_id = await self.council_of(principal, recommendation_id)
        overseer = principal.has_role(*MANAGERS)

        def command(council: Council) -> None:
            getattr(council, verb)(
                recommendation_id,
                by=principal.subject,
                overseer=overseer,
                at=utcnow(),
                **kw,
            )

        council = await self.change(principal, council_id, command)
        return recommendation_view(council.recommendation(recommendation_id))

    async def list(self, principal: Principal) -> list[dict[str, Any]]:
        """Every council for coordinators and sponsors; a member's own otherwise."""
        sql = "SELECT c.* FROM councils c WHERE c.tenant = :t"
        if not principal.has_role(*READERS):
            sql += (
                " AND EXISTS (SELECT 1 FROM council_members m WHERE "
                "m.council_id = c.council_id AND m.member_id = :s)"
            )
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text(sql + " ORDER BY c.chartered_at, c.council_id"),
                {"t": principal.tenant, "s": principal.subject},
            )
            return [dict(row._mapping) for row in rows]

    async def decisions(
        self, principal: Principal, council_id: str
    ) -> list[dict[str, Any]]:
        """Decided recommendations with their rationale; any tenant member may read
        them when the charter publishes decisions."""
        council = await self.repository.get(council_id, principal.tenant)
        if not (council.publishes_decisions or council.is_member(principal.subject)):
            principal.require(*READERS)
        return [
            recommendation_view(r) | {"decision": r.decision}
            for r in council.recommendations.values()
            if r.decision is not None
        ]


# -- HTTP -------------------------------------------------------------------------------


def get_councils(request: Request) -> Councils:
    return request.app.state.councils


CouncilsDep = Annotated[Councils, Depends(get_councils)]
AgendaItem = Annotated[Text, Field(min_length=1, max_length=2_000)]
Body = RequestBody


class CharterIn(Body):
    name: Name
    purpose: Annotated[Text, Field(min_length=1, max_length=5_000)]
    decision_rights: Code = Field("advise", description="always 'advise'")
    # the domain says what is out of 1..52 (CadenceOutOfRange); here only the column
    cadence_weeks: Int32 = Field(description="a meeting every N weeks (1-52)")
    publish_decisions: bool = False


class MemberIn(Body):
    member_id: Ref
    kind: Literal["advisor", "sponsor"]


class MeetingIn(Body):
    held_on: SaneDate
    attendees: Annotated[int, Field(ge=1, le=500)]
    agenda: Annotated[ListOf[AgendaItem], Field(max_length=100)] = Field(
        default_factory=list
    )


class RecommendationIn(Body):
    meeting_id: Ref
    title: Name
    made_by: Ref = Field(description="the member who recommends")


class DecisionIn(Body):
    rationale: Text | None = None


@router.post("/councils", status_code=201)
async def charter(
    body: CharterIn, principal: PrincipalDep, councils: CouncilsDep
) -> dict[str, Any]:
    """Charter an advisory council (it advises; it does not decide)."""
    return await councils.charter(principal, **body.model_dump())


@router.get("/councils")
async def list_councils(
    principal: PrincipalDep, councils: CouncilsDep
) -> list[dict[str, Any]]:
    """The councils the caller may read."""
    return await councils.list(principal)


@router.get("/councils/{council_id}")
async def get_council(
    council_id: Ref, principal: PrincipalDep, councils: CouncilsDep
) -> dict[str, Any]:
    """Charter, members, meetings (with agendas) and the next meeting due."""
    return council_view(await councils.read(principal, council_id))


@router.post("/councils/{council_id}/members", status_code=201)
async def add_member(
    council_id: Ref,
    body: MemberIn,
    request: Request,
    principal: PrincipalDep,
    councils: CouncilsDep,
) -> dict[str, Any]:
    """Seat an advisor or an internal sponsor on the council."""
    principal.require(*MANAGERS)
    if body.kind == "advisor":
        # An advisor seat names an advisor of this organisation: an id from another
        # tenant (or none at all) would otherwise become a member who can recommend.
        known = await request.app.state.advisors.status(
            principal.tenant, body.member_id
        )
        if known is None:
            raise ValidationFailed(
                [FieldError("member_id", "no such advisor in this organisation")]
            )
    council = await councils.change(
        principal, council_id, lambda c: c.add_member(body.member_id, body.kind)
    )
    return council_view(council)


@router.delete("/councils/{council_id}/members/{member_id}", status_code=204)
async def remove_member(
    council_id: Ref, member_id: Ref, principal: PrincipalDep, councils: CouncilsDep
) -> Response:
    """Take a member off the council (their recommendations stay)."""
    principal.require(*MANAGERS)
    await councils.change(principal, council_id, lambda c: c.remove_member(member_id))
    return Response(status_code=204)


@router.post("/councils/{council_id}/meetings", status_code=201)
async def hold_meeting(
    council_id: Ref, body: MeetingIn, principal: PrincipalDep, councils: CouncilsDep
) -> dict[str, Any]:
    """Record a meeting: date, attendance and agenda (the agenda stays private)."""
    principal.require(*MANAGERS)
    meeting_id = str(uuid.uuid4())
    await councils.change(
        principal,
        council_id,
        lambda c: c.hold_meeting(
            meeting_id,
            held_on=body.held_on,
            attendees=body.attendees,
            agenda=body.agenda,
            today=utcnow().date(),
        ),
    )
    return {"meeting_id": meeting_id, **body.model_dump(mode="json")}


@router.post("/councils/{council_id}/recommendations", status_code=201)
async def recommend(
    council_id: Ref,
    body: RecommendationIn,
    principal: PrincipalDep,
    councils: CouncilsDep,
) -> dict[str, Any]:
    """Record a member's recommendation (a coordinator, or the member themself)."""
    if body.made_by != principal.subject:
        principal.require(*MANAGERS)
    rec_id = str(uuid.uuid4())
    council = await councils.change(
        principal,
        council_id,
        lambda c: c.recommend(rec_id, **body.model_dump(), at=utcnow()),
    )
    return recommendation_view(council.recommendation(rec_id))


@router.post("/recommendations/{recommendation_id}/{decision}")
async def decide(
    recommendation_id: Ref,
    decision: Literal["accept", "reject", "implement"],
    principal: PrincipalDep,
    councils: CouncilsDep,
    body: DecisionIn | None = None,
) -> dict[str, Any]:
    """Accept (optionally saying why), reject (saying why) or mark implemented."""
    kw = {} if decision == "implement" else {"rationale": body and body.rationale}
    return await councils.decide(principal, recommendation_id, decision, **kw)


@router.get("/councils/{council_id}/recommendations")
async def follow_up(
    council_id: Ref,
    principal: PrincipalDep,
    councils: CouncilsDep,
    status: Literal["open", "accepted", "rejected", "implemented"] | None = None,
) -> list[dict[str, Any]]:
    """Recommendations with their status and age in days, oldest first."""
    council = await councils.read(principal, council_id)
    recs = sorted(council.recommendations.values(), key=lambda r: r.made_at)
    return [
        recommendation_view(r) for r in recs if status is None or r.status == status
    ]


@router.get("/councils/{council_id}/decisions")
async def decisions(
    council_id: Ref, principal: PrincipalDep, councils: CouncilsDep
) -> list[dict[str, Any]]:
    """Each decided recommendation, its decision and rationale."""
    return await councils.decisions(principal, council_id)


router.include_router(risks.router)


def install(app: Any, runtime: Any, cipher: Any) -> None:
    """Add councils and the risk register to the app."""
    app.state.councils = Councils(runtime, cipher)
    app.state.schema_setups.append(create_schema)
    risks.install(app, runtime, cipher)
