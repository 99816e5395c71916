"""External advisors as GraphQL types: the advisor under due diligence, their
agreements with hours and caps, advisory councils, and the programme's risks."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from contracts.api import advisors as api
from gateway import refs
from gateway.advisors import loaders
from gateway.answers import read_list
from gateway.context import ctx
from gateway.enums import (
    AdvisorStatus,
    AgreementScope,
    AgreementStatus,
    CheckStatus,
    CouncilMemberKind,
    DecisionRights,
    RecommendationStatus,
    RiskSeverity,
    RiskStatus,
)
from gateway.nodes import BatchedNode
from gateway.refs import PersonRef
from gateway.upstream import UpstreamError, upstream_path


@strawberry.type(description="One check of the due diligence checklist.")
class DiligenceCheck:
    name: str = strawberry.field(description="The check, e.g. background.")
    required: bool = strawberry.field(description="Required for approval.")
    status: CheckStatus = strawberry.field(description="Where the check stands.")
    owner: str | None = strawberry.field(description="Who is responsible for it.")
    expires_on: date | None = strawberry.field(description="When it must be redone.")
    evidence: str | None = strawberry.field(
        description="Evidence recorded (staff, sponsors and the advisor only)."
    )
    reason_code: str | None = strawberry.field(description="Why it is not passed.")


@strawberry.type(description="Organisations an advisor declared ties with.")
class DeclaredConflicts:
    employers: list[str] = strawberry.field(description="Employers.")
    board_seats: list[str] = strawberry.field(description="Board seats held.")
    competitors: list[str] = strawberry.field(description="Competitors advised.")
    vendors: list[str] = strawberry.field(description="Vendors tied to.")


@strawberry.type(
    description="An external advisor: proposed, under due diligence, approved, "
    "contracted, active, suspended, rejected or offboarded. Personal fields are "
    "shown to coordinators, admins, sponsors and the advisor themself."
)
class Advisor(BatchedNode, relay.Node):
    advisor_id: relay.NodeID[str] = strawberry.field(
        description="The advisors service's id of the advisor."
    )
    status: AdvisorStatus = strawberry.field(
        description="Where the advisor is in onboarding."
    )
    erased: bool = strawberry.field(description="True once the advisor was erased.")
    name: str | None = strawberry.field(description="Full name.")
    email: str | None = strawberry.field(description="Email.")
    organisation: str | None = strawberry.field(description="Organisation.")
    bio: str | None = strawberry.field(description="Short biography.")
    expertise_sought: list[str] = strawberry.field(
        description="The expertise the programme seeks from them."
    )
    reason_code: str | None = strawberry.field(description="Why rejected or suspended.")
    profile: JSON | None = strawberry.field(
        description="The expertise profile given at approval (geography, strengths, "
        "capacity …)."
    )
    checks: list[DiligenceCheck] = strawberry.field(
        description="The due diligence checklist and each check's state."
    )
    conflicts: DeclaredConflicts | None = strawberry.field(
        description="Declared conflicts of interest (null when not visible)."
    )

    @strawberry.field(description="The advisor's agreements, oldest first.")
    async def agreements(self, info: Info) -> list[Agreement]:
        items = await loaders.agreements_of(info).load(self.advisor_id)
        return [Agreement.from_summary(a) for a in items]

    @classmethod
    def from_model(cls, m: api.AdvisorView) -> Advisor:
        conflicts = m.conflicts
        return cls(
            advisor_id=m.advisor_id,
            status=AdvisorStatus(m.status.value),
            erased=m.erased,
            name=m.name,
            email=m.email,
            organisation=m.organisation,
            bio=m.bio,
            expertise_sought=list(m.expertise_sought),
            reason_code=m.reason_code,
            # The profile as the service answered it (the fields it set).
            profile=JSON(m.profile.model_dump(mode="json", exclude_unset=True))
            if m.profile is not None
            else None,
            checks=[
                DiligenceCheck(
                    name=name,
                    required=c.required,
                    status=CheckStatus(c.status.value),
                    owner=c.owner,
                    expires_on=c.expires_on,
                    evidence=c.evidence,
                    reason_code=c.reason_code,
                )
                for name, c in m.checks.items()
            ],
            conflicts=DeclaredConflicts(
                employers=list(conflicts.employers or []),
                board_seats=list(conflicts.board_seats or []),
                competitors=list(conflicts.competitors or []),
                vendors=list(conflicts.vendors or []),
            )
            if conflicts is not None
            else None,
        )

    @classmethod
    async def load_nodes(cls, info: Info, node_ids: list[str]) -> list[Advisor | None]:
        rows = await loaders.advisors(info).load_many(node_ids)
        return [cls.from_model(r) if r is not None else None for r in rows]


@strawberry.type(description="Hours and money used under an agreement.")
class AgreementUsage:
    month: str = strawberry.field(description="The month (YYYY-MM).")
    minutes_this_month: int = strawberry.field(description="Minutes this month.")
    remaining_minutes_this_month: int = strawberry.field(
        description="Minutes left this month under the monthly hours."
    )
    total_minutes: int = strawberry.field(description="Minutes over the whole term.")
    cost_minor_units: int | None = strawberry.field(
        description="Cost so far, in minor units of the currency."
    )
    currency: str | None = strawberry.field(description="ISO 4217 currency.")
    remaining_minor_units: int | None = strawberry.field(
        description="Money left under the cap (null: no money cap)."
    )
    remaining_cap_minutes: int | None = strawberry.field(
        description="Minutes left under the hours cap (null: no hours cap)."
    )

    @classmethod
    def from_model(cls, m: api.Usage) -> AgreementUsage:
        return cls(
            month=m.month,
            minutes_this_month=m.minutes_this_month,
            remaining_minutes_this_month=m.remaining_minutes_this_month,
            total_minutes=m.total_minutes,
            cost_minor_units=m.cost_minor_units,
            currency=m.currency,
            remaining_minor_units=m.remaining_minor_units,
            remaining_cap_minutes=m.remaining_cap_minutes,
        )


async def _terms(root: Agreement, info: Info) -> api.AgreementView | None:
    """The agreement's terms: as read, or (listed as a summary) from its batch."""
    if root._terms is not None:
        return root._terms
    return await loaders.agreements(info).load(root.agreement_id)


async def _scope_text(root: Agreement, info: Info) -> str | None:
    terms = await _terms(root, info)
    return terms.scope_text if terms is not None else None


async def _compensation(root: Agreement, info: Info) -> JSON | None:
    terms = await _terms(root, info)
    if terms is None:
        return None
    return JSON(terms.compensation.model_dump(mode="json"))


async def _renewable(root: Agreement, info: Info) -> bool:
    terms = await _terms(root, info)
    return terms.renewable if terms is not None else False


@strawberry.type(
    description="An agreement with an advisor: term, scope, hours a month and "
    "compensation with an optional cap."
)
class Agreement(BatchedNode, relay.Node):
    agreement_id: relay.NodeID[str] = strawberry.field(description="Its id.")
    advisor_id: str = strawberry.field(
        description="The advisor's id.", deprecation_reason="Use `advisor { id }`."
    )
    status: AgreementStatus = strawberry.field(
        description="Where the agreement stands."
    )
    starts_on: date | None = strawberry.field(description="First day.")
    ends_on: date | None = strawberry.field(description="Last day.")
    scope: AgreementScope = strawberry.field(description="What the agreement covers.")
    # The list of agreements answers summaries: these three are read from the
    # agreement's terms (loaded in one batch for every listed agreement).
    scope_text: str | None = strawberry.field(
        resolver=_scope_text, description="The scope, as written."
    )
    hours_per_month: int = strawberry.field(description="Hours a month at most.")
    compensation: JSON | None = strawberry.field(
        resolver=_compensation,
        description="Pro bono, or a rate with an optional cap in money or hours.",
    )
    renewable: bool = strawberry.field(
        resolver=_renewable, description="Whether it may be renewed."
    )
    ending_soon: bool = strawberry.field(description="Ends within the notice period.")

    _terms: strawberry.Private[api.AgreementView | None] = None

    @strawberry.field(description="Hours and money used (this month and in total).")
    async def usage(self, info: Info) -> AgreementUsage | None:
        terms = self._terms
        if not isinstance(terms, api.AgreementWithUsage):
            terms = await loaders.agreements(info).load(self.agreement_id)
        return AgreementUsage.from_model(terms.usage) if terms is not None else None

    @strawberry.field(description="The advisor.")
    async def advisor(self, info: Info) -> Advisor | None:
        found = await loaders.advisors(info).load(self.advisor_id)
        return Advisor.from_model(found) if found is not None else None

    @classmethod
    def from_model(cls, m: api.AgreementView) -> Agreement:
        agreement = cls.from_summary(m)
        agreement._terms = m
        return agreement

    @classmethod
    def from_summary(cls, m: api.AgreementSummary | api.AgreementView) -> Agreement:
        """An agreement as listed: its terms are read when asked for."""
        return cls(
            agreement_id=m.agreement_id,
            advisor_id=m.advisor_id,
            status=AgreementStatus(m.status.value),
            starts_on=m.starts_on,
            ends_on=m.ends_on,
            scope=m.scope,
            hours_per_month=m.hours_per_month,
            ending_soon=m.ending_soon,
        )

    @classmethod
    async def load_nodes(
        cls, info: Info, node_ids: list[str]
    ) -> list[Agreement | None]:
        rows = await loaders.agreements(info).load_many(node_ids)
        return [cls.from_model(r) if r is not None else None for r in rows]


@strawberry.type(description="A member of a council.")
class CouncilMember:
    member_id: str = strawberry.field(
        description="The advisor's or sponsor's service id.",
        deprecation_reason="Use `advisor` or `sponsor`.",
    )
    kind: CouncilMemberKind = strawberry.field(description="An advisor or a sponsor.")

    @strawberry.field(description="The member, if an advisor.")
    async def advisor(self, info: Info) -> Advisor | None:
        if self.kind is not CouncilMemberKind.ADVISOR:
            return None
        rows = await Advisor.load_nodes(info, [self.member_id])
        return rows[0]

    @strawberry.field(description="The member, if a sponsor.")
    async def sponsor(self, info: Info) -> PersonRef | None:
        return (
            await refs.person(info, self.member_id)
            if self.kind is CouncilMemberKind.SPONSOR
            else None
        )


@strawberry.type(description="A council meeting.")
class CouncilMeeting:
    meeting_id: str = strawberry.field(description="Its id.")
    held_on: date | None = strawberry.field(description="When it was held.")
    attendees: int = strawberry.field(description="How many attended.")
    agenda: list[str] = strawberry.field(
        description="Agenda items (readers of the council)."
    )


@strawberry.type(
    description="A recommendation of a council and what became of it (read through "
    "its council: `node(id:)` answers null for it)."
)
class Recommendation(BatchedNode, relay.Node):
    recommendation_id: relay.NodeID[str] = strawberry.field(
        description="The advisors service's id of the recommendation."
    )
    meeting_id: str = strawberry.field(description="The meeting it was made at.")
    title: str = strawberry.field(description="What is recommended.")
    made_by: str = strawberry.field(description="The member who recommended it.")
    status: RecommendationStatus = strawberry.field(
        description="Where the recommendation stands."
    )
    age_days: int | None = strawberry.field(description="Days since it was made.")
    decided_by: str | None = strawberry.field(description="Who decided.")
    rationale: str | None = strawberry.field(description="Why, as decided.")

    @classmethod
    def from_model(cls, m: api.RecommendationView) -> Recommendation:
        return cls(
            recommendation_id=m.recommendation_id,
            meeting_id=m.meeting_id,
            title=m.title,
            made_by=m.made_by,
            status=RecommendationStatus(m.status.value),
            age_days=m.age_days,
            decided_by=m.decided_by,
            rationale=m.rationale,
        )

    @classmethod
    async def load_nodes(
        cls, info: Info, node_ids: list[str]
    ) -> list[Recommendation | None]:
        # No read of one recommendation upstream: read it through its council.
        return [None for _ in node_ids]


@strawberry.type(
    description="An advisory council: charter (it advises, it does not decide), "
    "cadence, members, meetings, recommendations and the decisions taken on them."
)
class Council(BatchedNode, relay.Node):
    council_id: relay.NodeID[str] = strawberry.field(description="Its id.")
    name: str = strawberry.field(description="Name.")
    purpose: str = strawberry.field(description="Purpose, from the charter.")
    decision_rights: DecisionRights = strawberry.field(description="Always `advise`.")
    cadence_weeks: int = strawberry.field(description="A meeting every N weeks.")
    publish_decisions: bool = strawberry.field(
        description="Whether decisions are published."
    )
    members: list[CouncilMember] = strawberry.field(description="Its members.")
    meetings: list[CouncilMeeting] = strawberry.field(description="Meetings held.")
    next_meeting_due: date | None = strawberry.field(
        description="When the next meeting is due by the cadence."
    )
    meeting_overdue: bool = strawberry.field(description="The next one is overdue.")
    recommendations: list[Recommendation] = strawberry.field(
        description="Recommendations, oldest first."
    )

    _summary: strawberry.Private[bool] = False

    @strawberry.field(
        description="Recommendations decided (accepted or rejected), with their "
        "rationale. Everyone in the organisation reads those of a council that "
        "publishes its decisions; the rest of such a council (members, meetings, "
        "open recommendations) stays with its members, coordinators and sponsors."
    )
    async def decisions(self, info: Info) -> list[Recommendation]:
        if not self._summary:
            return [r for r in self.recommendations if r.decided_by]
        if not self.publish_decisions:
            return []
        path = upstream_path("/councils/{c}/decisions", c=self.council_id)
        try:
            rows = await ctx(info).caller.get("advisors", path)
        except UpstreamError as exc:
            if exc.status in (403, 404):
                return []
            raise
        decided = read_list(api.DecidedRecommendation, rows, "advisors")
        return [Recommendation.from_model(r) for r in decided]

    @classmethod
    def from_summary(cls, m: api.CouncilSummary) -> Council:
        """A council the caller sees listed only (it publishes its decisions)."""
        council = cls(
            council_id=m.council_id,
            name=m.name,
            purpose=m.purpose,
            decision_rights=DecisionRights.ADVISE,
            cadence_weeks=m.cadence_weeks,
            publish_decisions=m.publish_decisions,
            members=[],
            meetings=[],
            next_meeting_due=None,
            meeting_overdue=False,
            recommendations=[],
        )
        council._summary = True
        return council

    @classmethod
    def from_model(cls, m: api.CouncilView) -> Council:
        """A council as read; its recommendations when the answer lists them."""
        listed = (
            m.recommendation_list
            if isinstance(m, api.CouncilWithRecommendations)
            else []
        )
        return cls(
            council_id=m.council_id,
            name=m.name,
            purpose=m.purpose,
            decision_rights=DecisionRights(m.decision_rights.value),
            cadence_weeks=m.cadence_weeks,
            publish_decisions=m.publish_decisions,
            members=[
                CouncilMember(
                    member_id=member.member_id,
                    kind=CouncilMemberKind(member.kind.value),
                )
                for member in m.members
            ],
            meetings=[
                CouncilMeeting(
                    meeting_id=meeting.meeting_id,
                    held_on=meeting.held_on,
                    attendees=meeting.attendees,
                    agenda=list(meeting.agenda or []),
                )
                for meeting in m.meetings
            ],
            next_meeting_due=m.next_meeting_due,
            meeting_overdue=m.meeting_overdue,
            recommendations=[Recommendation.from_model(r) for r in listed],
        )

    @classmethod
    async def load_nodes(cls, info: Info, node_ids: list[str]) -> list[Council | None]:
        rows = await loaders.councils(info).load_many(node_ids)
        return [cls.from_model(r) if r is not None else None for r in rows]


@strawberry.type(description="A risk of the programme's register.")
class Risk(BatchedNode, relay.Node):
    risk_id: relay.NodeID[str] = strawberry.field(description="Its id.")
    title: str = strawberry.field(description="What could go wrong.")
    category: str = strawberry.field(description="Its category.")
    likelihood: int = strawberry.field(description="Likelihood, 1 to 5.")
    impact: int = strawberry.field(description="Impact, 1 to 5.")
    score: int = strawberry.field(description="Likelihood x impact.")
    severity: RiskSeverity = strawberry.field(description="The band of its score.")
    owner_id: str = strawberry.field(
        description="Who owns it.", deprecation_reason="Use `owner { id }`."
    )

    @strawberry.field(description="Who owns it.")
    async def owner(self, info: Info) -> PersonRef | None:
        return await refs.person(info, self.owner_id)

    mitigation: str = strawberry.field(description="The mitigation plan.")
    status: RiskStatus = strawberry.field(description="Where the risk stands.")

    @classmethod
    def from_model(cls, m: api.RiskView) -> Risk:
        return cls(
            risk_id=m.risk_id,
            title=m.title,
            category=m.category,
            likelihood=m.likelihood,
            impact=m.impact,
            score=m.score,
            severity=RiskSeverity(m.severity.value),
            owner_id=m.owner_id,
            mitigation=m.mitigation,
            status=RiskStatus(m.status.value),
        )

    @classmethod
    async def load_nodes(cls, info: Info, node_ids: list[str]) -> list[Risk | None]:
        rows = await loaders.risks(info).load_many(node_ids)
        return [cls.from_model(r) if r is not None else None for r in rows]
