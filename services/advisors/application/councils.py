"""Advisory councils (``Councils``): charter, members, meetings, recommendations and
their follow-up; the decisions page when the charter publishes decisions.

Coordinators and admins run councils; sponsors read them and decide recommendations
(a sponsor who is a member of the council, or any coordinator); members read their
councils. Agendas are encrypted under the council's key (the service's cipher). An
advisor's seat names an advisor the lifecycle knows (``advisor_status``, wired by
``main.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import date

from chassis.auth.principal import Principal, Role
from chassis.errors import FieldError, NotFound, ValidationFailed
from chassis.events import utcnow
from chassis.http import metadata_for
from chassis.personal_data import PersonalDataCipher
from chassis.repository import Repository, retrying
from chassis.runtime import ServiceRuntime
from contracts.advisors.councils import MemberKind, RecommendationStatus
from contracts.advisors.lifecycle import AdvisorStatus
from contracts.api.advisors import (
    CouncilSummary,
    CouncilView,
    CouncilWithRecommendations,
    DecidedRecommendation,
    MeetingView,
    MemberView,
    RecommendationVerb,
    RecommendationView,
)
from services.advisors.domain.council import Council, Recommendation
from services.advisors.domain.events import registry
from services.advisors.projections import councils as table
from services.advisors.projections.councils import CouncilProjection

__all__ = ["MANAGERS", "READERS", "Councils", "council_view", "recommendation_view"]
MANAGERS = (Role.COORDINATOR, Role.ADMIN)
READERS = (*MANAGERS, Role.SPONSOR)
StatusOf = Callable[[str, str], Awaitable[AdvisorStatus | None]]


def recommendation_view(rec: Recommendation) -> RecommendationView:
    return RecommendationView(
        recommendation_id=rec.id,
        meeting_id=rec.meeting_id,
        title=rec.title,
        made_by=rec.made_by,
        made_at=rec.made_at,
        status=rec.status,
        age_days=rec.age_days(utcnow()),
        decided_by=rec.decided_by,
        decided_at=rec.decided_at,
        rationale=rec.rationale,
    )


def council_view(council: Council) -> CouncilView:
    charter = council.charter
    assert charter is not None
    due = council.next_meeting_due()
    return CouncilView(
        council_id=council.id,
        name=charter.name,
        purpose=charter.purpose,
        decision_rights=charter.decision_rights,
        cadence_weeks=charter.cadence_weeks,
        publish_decisions=charter.publish_decisions,
        members=[MemberView(member_id=m, kind=k) for m, k in council.members.items()],
        meetings=[
            MeetingView(
                meeting_id=m.meeting_id,
                held_on=m.held_on,
                attendees=m.attendees,
                agenda_items=m.agenda_items,
                agenda=m.agenda,
            )
            for m in council.meetings.values()
        ],
        next_meeting_due=due,
        meeting_overdue=bool(due and due < utcnow().date()),
        recommendations=len(council.recommendations),
    )


class Councils:
    """The councils' commands and queries, over their streams and tables."""

    def __init__(self, runtime: ServiceRuntime, cipher: PersonalDataCipher) -> None:
        self.engine = runtime.engine
        self.repository = Repository(
            runtime.store,
            registry,
            Council,
            codec=cipher,
            projections=[CouncilProjection()],
        )
        self.repository.on_saved.append(lambda _events: runtime.relay.notify())
        self.advisor_status: StatusOf | None = None

    async def charter(
        self,
        principal: Principal,
        *,
        name: str,
        purpose: str,
        decision_rights: str,
        cadence_weeks: int,
        publish_decisions: bool,
    ) -> CouncilView:
        principal.require(*MANAGERS)
        council = Council.charter_new(
            str(uuid.uuid4()),
            principal.tenant,
            name=name,
            purpose=purpose,
            decision_rights=decision_rights,
            cadence_weeks=cadence_weeks,
            publish_decisions=publish_decisions,
        )
        await self.repository.save(council, metadata_for(principal))
        return council_view(council)

    async def read(self, principal: Principal, council_id: str) -> Council:
        """The council, for a coordinator, a sponsor or one of its members."""
        council = await self.repository.get(council_id, principal.tenant)
        if not council.is_member(principal.subject):
            principal.require(*READERS)
        return council

    async def read_with_recommendations(
        self, principal: Principal, council_id: str
    ) -> CouncilWithRecommendations:
        """The council as ``read`` shows it, with its recommendations oldest first."""
        council = await self.read(principal, council_id)
        return CouncilWithRecommendations(
            **dict(council_view(council)),
            recommendation_list=[
                recommendation_view(r) for r in recommendations_of(council)
            ],
        )

    async def read_many_with_recommendations(
        self, principal: Principal, council_ids: Sequence[str]
    ) -> list[CouncilWithRecommendations]:
        """Several councils, each as ``read_with_recommendations`` shows it (those
        the caller may not read left out), in the order asked: their events in one
        statement and their keys in one more."""
        found = await self.repository.find_many(council_ids, principal.tenant)
        return [
            CouncilWithRecommendations(
                **dict(council_view(council)),
                recommendation_list=[
                    recommendation_view(r) for r in recommendations_of(council)
                ],
            )
            for council in found.values()
            if council.is_member(principal.subject) or principal.has_role(*READERS)
        ]

    async def change(
        self, principal: Principal, council_id: str, command: Callable[[Council], None]
    ) -> Council:
        """Load, decide (``command(council)``), save; again on a concurrent write."""

        async def attempt() -> Council:
            council = await self.repository.get(council_id, principal.tenant)
            command(council)
            await self.repository.save(council, metadata_for(principal))
            return council

        return await retrying(attempt)

    async def add_member(
        self, principal: Principal, council_id: str, member_id: str, kind: MemberKind
    ) -> Council:
        """Seat an advisor or an internal sponsor (coordinators and admins)."""
        principal.require(*MANAGERS)
        if kind == MemberKind.ADVISOR and self.advisor_status is not None:
            # An advisor seat names an advisor of this organisation: an id from another
            # tenant (or none at all) would otherwise become a member who can recommend.
            known = await self.advisor_status(principal.tenant, member_id)
            if known is None:
                raise ValidationFailed(
                    [FieldError("member_id", "no such advisor in this organisation")]
                )
        return await self.change(
            principal, council_id, lambda c: c.add_member(member_id, kind)
        )

    async def remove_member(
        self, principal: Principal, council_id: str, member_id: str
    ) -> None:
        """Take a member off the council (their recommendations stay)."""
        principal.require(*MANAGERS)
        await self.change(principal, council_id, lambda c: c.remove_member(member_id))

    async def hold_meeting(
        self,
        principal: Principal,
        council_id: str,
        *,
        held_on: date,
        attendees: int,
        agenda: list[str],
    ) -> str:
        """Record a meeting that took place; answers its id."""
        principal.require(*MANAGERS)
        meeting_id = str(uuid.uuid4())
        await self.change(
            principal,
            council_id,
            lambda c: c.hold_meeting(
                meeting_id,
                held_on=held_on,
                attendees=attendees,
                agenda=agenda,
                today=utcnow().date(),
            ),
        )
        return meeting_id

    async def recommend(
        self,
        principal: Principal,
        council_id: str,
        *,
        meeting_id: str,
        title: str,
        made_by: str,
    ) -> RecommendationView:
        """A member's recommendation (recorded by a coordinator, or the member)."""
        if made_by != principal.subject:
            principal.require(*MANAGERS)
        rec_id = str(uuid.uuid4())
        council = await self.change(
            principal,
            council_id,
            lambda c: c.recommend(
                rec_id, meeting_id=meeting_id, title=title, made_by=made_by, at=utcnow()
            ),
        )
        return recommendation_view(council.recommendation(rec_id))

    async def council_of(self, principal: Principal, recommendation_id: str) -> str:
        async with self.engine.connect() as conn:
            found = await table.council_of(conn, principal.tenant, recommendation_id)
        if found is None:
            raise NotFound(f"recommendation {recommendation_id} not found")
        return found

    async def decide(
        self,
        principal: Principal,
        recommendation_id: str,
        verb: RecommendationVerb,
        **kw: str | None,
    ) -> RecommendationView:
        """Accept, reject or implement: a member sponsor or a coordinator decides."""
        council_id = await self.council_of(principal, recommendation_id)
        overseer = principal.has_role(*MANAGERS)

        def command(council: Council) -> None:
            getattr(council, verb.value)(
                recommendation_id,
                by=principal.subject,
                overseer=overseer,
                at=utcnow(),
                **kw,
            )

        council = await self.change(principal, council_id, command)
        return recommendation_view(council.recommendation(recommendation_id))

    async def listing(self, principal: Principal) -> list[CouncilSummary]:
        """Every council for coordinators and sponsors; for the others, those they
        sit on and those that publish their decisions (as ``decisions`` allows)."""
        member = None if principal.has_role(*READERS) else principal.subject
        async with self.engine.connect() as conn:
            rows = await table.councils_of(conn, principal.tenant, member)
        return [CouncilSummary.model_validate(row) for row in rows]

    async def follow_up(
        self,
        principal: Principal,
        council_id: str,
        status: RecommendationStatus | None,
    ) -> list[RecommendationView]:
        """Recommendations with their status and age in days, oldest first."""
        council = await self.read(principal, council_id)
        return [
            recommendation_view(r)
            for r in recommendations_of(council)
            if status is None or r.status == status
        ]

    async def decisions(
        self, principal: Principal, council_id: str
    ) -> list[DecidedRecommendation]:
        """Decided recommendations with their rationale; any tenant member may read
        them when the charter publishes decisions."""
        council = await self.repository.get(council_id, principal.tenant)
        if not (council.publishes_decisions or council.is_member(principal.subject)):
            principal.require(*READERS)
        return [
            DecidedRecommendation(**dict(recommendation_view(r)), decision=r.decision)
            for r in council.recommendations.values()
            if r.decision is not None
        ]


def recommendations_of(council: Council) -> list[Recommendation]:
    return sorted(council.recommendations.values(), key=lambda r: r.made_at)
