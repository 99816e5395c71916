"""Mutations of the advisors part: each answers its payload or a typed error.

Hours over an agreement's cap are a ``RuleViolation`` with ``code: HoursOverCap``;
approving with a required check open is one with ``code: ApprovalBlocked``; a
command in the wrong status one with ``code: AdvisorStatusConflict``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, TypeAlias, TypeVar

import strawberry
from graphql import GraphQLError
from pydantic import BaseModel
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from contracts.api import advisors as api
from gateway.advisors import loaders
from gateway.advisors.types import (
    Advisor,
    Agreement,
    AgreementUsage,
    Council,
    Recommendation,
    Risk,
)
from gateway.answers import read
from gateway.context import ctx
from gateway.enums import (
    AgreementScope,
    CheckResult,
    CouncilMemberKind,
    DecisionRights,
    HoursKind,
    MitigationStatus,
    RecommendationDecision,
)
from gateway.errors import CommonErrors
from gateway.ids import is_local_id, local_id, parse_global_id
from gateway.mutations import run
from gateway.upstream import upstream_path

A = "advisors"

# A request body (JSON object), or none.
Body: TypeAlias = dict[str, Any] | None
M = TypeVar("M", bound=BaseModel)


def _check_name(value: str) -> str:
    """A check's name (``background`` …): one safe URL segment, else invalid."""
    if not is_local_id(value):
        raise GraphQLError(
            "`input.check` is not a check name",
            extensions={"code": "ValidationError", "path": "input.check"},
        )
    return value


def _aid(value: strawberry.ID, path: str = "input.advisorId") -> str:
    return local_id(value, "Advisor", path)


def _cid(value: strawberry.ID) -> str:
    return local_id(value, "Council", "input.councilId")


def _decision(value: RecommendationDecision) -> str:
    return value.value


def _risk(value: strawberry.ID) -> str:
    return local_id(value, "Risk", "input.riskId")


def _json(**values: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, enum.Enum):
            value = value.value
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        out[key] = value
    return out


# -- payloads ---------------------------------------------------------------------------


@strawberry.type(description="The advisor, as now.")
class AdvisorSuccess:
    advisor: Advisor = strawberry.field(description="The advisor after the change.")


@strawberry.type(description="The agreement, as now.")
class AgreementSuccess:
    agreement: Agreement = strawberry.field(description="The agreement.")


@strawberry.type(description="The hours were logged.")
class LogHoursSuccess:
    agreement_id: relay.GlobalID = strawberry.field(description="The agreement.")
    logged_hours: str = strawberry.field(description="Hours logged (decimal).")
    usage: AgreementUsage = strawberry.field(description="Usage after logging.")


@strawberry.type(description="The council, as now.")
class CouncilSuccess:
    council: Council | None = strawberry.field(description="The council.")


@strawberry.type(description="The recommendation, as now.")
class RecommendationSuccess:
    recommendation: Recommendation = strawberry.field(description="The recommendation.")


@strawberry.type(description="The risk, as now.")
class RiskSuccess:
    risk: Risk = strawberry.field(description="The risk.")


AdvisorResult = Annotated[
    AdvisorSuccess | CommonErrors, strawberry.union("AdvisorResult")
]
AgreementResult = Annotated[
    AgreementSuccess | CommonErrors, strawberry.union("AgreementResult")
]
LogHoursResult = Annotated[
    LogHoursSuccess | CommonErrors, strawberry.union("LogHoursResult")
]
CouncilResult = Annotated[
    CouncilSuccess | CommonErrors, strawberry.union("CouncilResult")
]
RecommendationResult = Annotated[
    RecommendationSuccess | CommonErrors, strawberry.union("RecommendationResult")
]
RiskResult = Annotated[RiskSuccess | CommonErrors, strawberry.union("RiskResult")]


# -- inputs -----------------------------------------------------------------------------


@strawberry.input(description="An external advisor proposed for onboarding.")
class OnboardAdvisorInput:
    name: str = strawberry.field(description="Full name.")
    email: str = strawberry.field(description="Email.")
    expertise_sought: list[str] = strawberry.field(
        description="The expertise sought (at least one)."
    )
    organisation: str | None = strawberry.field(
        default=None, description="Organisation."
    )
    bio: str | None = strawberry.field(default=None, description="Short biography.")


@strawberry.input(description="An advisor.")
class AdvisorInput:
    advisor_id: strawberry.ID = strawberry.field(description="The advisor.")


@strawberry.input(description="The result of one due diligence check.")
class RecordCheckInput:
    advisor_id: strawberry.ID = strawberry.field(description="The advisor.")
    check: str = strawberry.field(description="The check's name, e.g. background.")
    status: CheckResult = strawberry.field(description="The result.")
    evidence: str | None = strawberry.field(default=None, description="Evidence.")
    owner: str | None = strawberry.field(default=None, description="Who checked.")
    expires_on: date | None = strawberry.field(
        default=None, description="When it must be redone."
    )


@strawberry.input(description="Declared conflicts of interest.")
class DeclareConflictsInput:
    advisor_id: strawberry.ID = strawberry.field(description="The advisor.")
    employers: list[str] = strawberry.field(
        default_factory=list, description="Employers."
    )
    board_seats: list[str] = strawberry.field(
        default_factory=list, description="Board seats."
    )
    competitors: list[str] = strawberry.field(
        default_factory=list, description="Competitors advised."
    )
    vendors: list[str] = strawberry.field(default_factory=list, description="Vendors.")


@strawberry.input(description="Approve an advisor with their expertise profile.")
class ApproveAdvisorInput:
    advisor_id: strawberry.ID = strawberry.field(description="The advisor.")
    geography: str = strawberry.field(description="Country (ISO 3166-1 alpha-2).")
    time_zone: str = strawberry.field(description="IANA time zone.")
    languages: list[str] = strawberry.field(
        default_factory=list, description="Languages."
    )
    level: int = strawberry.field(default=10, description="Seniority (1 to 12).")
    max_mentees: int = strawberry.field(default=0, description="Mentees at most.")
    hours_per_month: int = strawberry.field(default=0, description="Hours a month.")
    profile: JSON | None = strawberry.field(
        default=None,
        description="Further profile fields (strengths, industries, markets, "
        "formats, availability …) as the advisors service takes them.",
    )


@strawberry.input(description="A status change with a reason.")
class AdvisorReasonInput:
    advisor_id: strawberry.ID = strawberry.field(description="The advisor.")
    reason_code: str = strawberry.field(
        default="coordinator_decision", description="Why."
    )


@strawberry.input(description="An agreement with an approved advisor.")
class SignAgreementInput:
    advisor_id: strawberry.ID = strawberry.field(description="The advisor.")
    starts_on: date = strawberry.field(description="First day.")
    ends_on: date = strawberry.field(description="Last day.")
    scope: AgreementScope = strawberry.field(description="What the agreement covers.")
    hours_per_month: int = strawberry.field(description="Hours a month (1 to 200).")
    pro_bono: bool = strawberry.field(default=False, description="Unpaid.")
    rate_minor_units: int | None = strawberry.field(
        default=None, description="Hourly rate in minor units."
    )
    currency: str | None = strawberry.field(default=None, description="ISO 4217.")
    cap_minor_units: int | None = strawberry.field(
        default=None, description="Money cap in minor units."
    )
    cap_hours: int | None = strawberry.field(
        default=None, description="Cap in hours over the term."
    )
    scope_text: str | None = strawberry.field(default=None, description="The scope.")
    renewable: bool = strawberry.field(default=True, description="May be renewed.")


@strawberry.input(description="Hours worked under an agreement.")
class LogHoursInput:
    agreement_id: strawberry.ID = strawberry.field(description="The agreement.")
    on: date = strawberry.field(description="The day worked.")
    hours: Decimal | None = strawberry.field(
        default=None, description="Hours as a decimal (or give minutes)."
    )
    minutes: int | None = strawberry.field(
        default=None, description="Whole minutes (or give hours)."
    )
    kind: HoursKind = strawberry.field(
        default=HoursKind.MENTORING, description="What the hours were spent on."
    )


@strawberry.input(description="The charter of an advisory council.")
class CharterCouncilInput:
    name: str = strawberry.field(description="Name.")
    purpose: str = strawberry.field(description="Purpose.")
    cadence_weeks: int = strawberry.field(description="A meeting every N weeks.")
    decision_rights: DecisionRights = strawberry.field(
        default=DecisionRights.ADVISE,
        description="Always `advise`: councils do not decide.",
    )
    publish_decisions: bool = strawberry.field(
        default=False, description="Publish decisions."
    )


@strawberry.input(description="A member for a council.")
class CouncilMemberInput:
    council_id: strawberry.ID = strawberry.field(description="The council.")
    member_id: strawberry.ID = strawberry.field(
        description="The member: an Advisor (kind advisor) or a Person (kind sponsor)."
    )
    kind: CouncilMemberKind = strawberry.field(description="An advisor or a sponsor.")


@strawberry.input(description="A council meeting held.")
class CouncilMeetingInput:
    council_id: strawberry.ID = strawberry.field(description="The council.")
    held_on: date = strawberry.field(description="When.")
    attendees: int = strawberry.field(description="How many attended.")
    agenda: list[str] = strawberry.field(
        default_factory=list, description="Agenda items."
    )


@strawberry.input(description="A recommendation made at a meeting.")
class RecommendInput:
    council_id: strawberry.ID = strawberry.field(description="The council.")
    meeting_id: str = strawberry.field(description="The meeting.")
    title: str = strawberry.field(description="What is recommended.")
    made_by: strawberry.ID = strawberry.field(
        description="The member who recommends: an Advisor or a Person (a sponsor)."
    )


@strawberry.input(description="A decision on a recommendation.")
class DecideRecommendationInput:
    recommendation_id: strawberry.ID = strawberry.field(description="It.")
    decision: RecommendationDecision = strawberry.field(
        description="The decision (a rationale is required to reject)."
    )
    rationale: str | None = strawberry.field(
        default=None, description="Why (required to reject)."
    )


@strawberry.input(description="A risk for the register.")
class RegisterRiskInput:
    title: str = strawberry.field(description="What could go wrong.")
    category: str = strawberry.field(description="Its category.")
    likelihood: int = strawberry.field(description="1 to 5.")
    impact: int = strawberry.field(description="1 to 5.")
    owner_id: strawberry.ID = strawberry.field(description="Who owns it (a Person).")
    mitigation: str = strawberry.field(default="", description="Mitigation plan.")


@strawberry.input(description="A new assessment of a risk.")
class AssessRiskInput:
    risk_id: strawberry.ID = strawberry.field(description="The risk.")
    likelihood: int = strawberry.field(description="1 to 5.")
    impact: int = strawberry.field(description="1 to 5.")


@strawberry.input(description="A mitigation plan.")
class MitigateRiskInput:
    risk_id: strawberry.ID = strawberry.field(description="The risk.")
    mitigation: str = strawberry.field(description="The plan.")
    status: MitigationStatus = strawberry.field(
        default=MitigationStatus.MITIGATING,
        description="The risk's status after this plan.",
    )


@strawberry.input(description="A risk.")
class RiskInput:
    risk_id: strawberry.ID = strawberry.field(description="The risk.")


# -- mutations --------------------------------------------------------------------------


def _advisor(m: api.AdvisorView) -> AdvisorSuccess:
    return AdvisorSuccess(advisor=Advisor.from_model(m))


def _risk_ok(m: api.RiskView) -> RiskSuccess:
    return RiskSuccess(risk=Risk.from_model(m))


async def _call(
    info: Info,
    answer: type[M],
    method: str,
    path: str | Callable[[], str],
    body: Body | Callable[[], Body] = None,
) -> M:
    """One call, its answer read as ``answer``; ``path`` and ``body`` may be
    functions (evaluated inside ``run`` so a malformed id becomes a
    ValidationError)."""
    c = ctx(info)
    real_path = path() if callable(path) else path
    real_body = body() if callable(body) else body
    return read(answer, await c.caller.request(A, method, real_path, json=real_body), A)


@strawberry.type
class AdvisorsMutation:
    @strawberry.mutation(description="Propose an external advisor for onboarding.")
    async def onboard_advisor(
        self, info: Info, input: OnboardAdvisorInput
    ) -> AdvisorResult:
        body = _json(
            name=input.name,
            email=input.email,
            expertise_sought=input.expertise_sought,
            organisation=input.organisation,
            bio=input.bio,
        )
        return await run(
            lambda: _call(info, api.AdvisorView, "POST", "/advisors", body), _advisor
        )

    @strawberry.mutation(description="Start due diligence with the checklist.")
    async def start_diligence(self, info: Info, input: AdvisorInput) -> AdvisorResult:
        return await run(
            lambda: _call(
                info,
                api.AdvisorView,
                "POST",
                lambda: upstream_path(
                    "/advisors/{advisor}/diligence", advisor=_aid(input.advisor_id)
                ),
            ),
            _advisor,
        )

    @strawberry.mutation(description="Record a due diligence check's result.")
    async def record_diligence_check(
        self, info: Info, input: RecordCheckInput
    ) -> AdvisorResult:
        body = _json(
            status=input.status,
            evidence=input.evidence,
            owner=input.owner,
            expires_on=input.expires_on,
        )
        return await run(
            lambda: _call(
                info,
                api.AdvisorView,
                "PUT",
                lambda: upstream_path(
                    "/advisors/{advisor}/checks/{check}",
                    advisor=_aid(input.advisor_id),
                    check=_check_name(input.check),
                ),
                body,
            ),
            _advisor,
        )

    @strawberry.mutation(description="Declare conflicts of interest.")
    async def declare_conflicts(
        self, info: Info, input: DeclareConflictsInput
    ) -> AdvisorResult:
        body = {
            "employers": input.employers,
            "board_seats": input.board_seats,
            "competitors": input.competitors,
            "vendors": input.vendors,
        }
        return await run(
            lambda: _call(
                info,
                api.AdvisorView,
                "PUT",
                lambda: upstream_path(
                    "/advisors/{advisor}/conflicts", advisor=_aid(input.advisor_id)
                ),
                body,
            ),
            _advisor,
        )

    @strawberry.mutation(
        description="Approve the advisor: refused (ApprovalBlocked) while a required "
        "check is open, failed or expired."
    )
    async def approve_advisor(
        self, info: Info, input: ApproveAdvisorInput
    ) -> AdvisorResult:
        extra: dict[str, Any] = input.profile if isinstance(input.profile, dict) else {}
        body = {
            **extra,
            **_json(
                geography=input.geography,
                time_zone=input.time_zone,
                languages=input.languages,
                level=input.level,
                max_mentees=input.max_mentees,
                hours_per_month=input.hours_per_month,
            ),
        }
        return await run(
            lambda: _call(
                info,
                api.AdvisorView,
                "POST",
                lambda: upstream_path(
                    "/advisors/{advisor}/approve", advisor=_aid(input.advisor_id)
                ),
                body,
            ),
            _advisor,
        )

    @strawberry.mutation(description="Reject a proposed advisor.")
    async def reject_advisor(
        self, info: Info, input: AdvisorReasonInput
    ) -> AdvisorResult:
        return await _transition(info, input.advisor_id, "reject", input.reason_code)

    @strawberry.mutation(description="Stop offering the advisor.")
    async def suspend_advisor(
        self, info: Info, input: AdvisorReasonInput
    ) -> AdvisorResult:
        return await _transition(info, input.advisor_id, "suspend", input.reason_code)

    @strawberry.mutation(
        description="Offer a suspended advisor again (checks must be in date)."
    )
    async def reinstate_advisor(self, info: Info, input: AdvisorInput) -> AdvisorResult:
        return await _transition(info, input.advisor_id, "reinstate")

    @strawberry.mutation(description="The advisor starts working with the programme.")
    async def activate_advisor(self, info: Info, input: AdvisorInput) -> AdvisorResult:
        return await _transition(info, input.advisor_id, "activate")

    @strawberry.mutation(description="Offboard the advisor.")
    async def offboard_advisor(self, info: Info, input: AdvisorInput) -> AdvisorResult:
        return await _transition(info, input.advisor_id, "offboard")

    @strawberry.mutation(description="Sign an agreement with an approved advisor.")
    async def sign_agreement(
        self, info: Info, input: SignAgreementInput
    ) -> AgreementResult:
        def body() -> dict[str, Any]:
            return _json(
                advisor_id=_aid(input.advisor_id),
                starts_on=input.starts_on,
                ends_on=input.ends_on,
                scope=input.scope,
                scope_text=input.scope_text,
                hours_per_month=input.hours_per_month,
                renewable=input.renewable,
                compensation=_json(
                    pro_bono=input.pro_bono,
                    rate_minor_units=input.rate_minor_units,
                    currency=input.currency,
                    cap_minor_units=input.cap_minor_units,
                    cap_hours=input.cap_hours,
                ),
            )

        return await run(
            lambda: _call(info, api.AgreementView, "POST", "/agreements", body),
            lambda m: AgreementSuccess(agreement=Agreement.from_model(m)),
        )

    @strawberry.mutation(
        description="Log hours against an agreement (a coordinator or the advisor). "
        "Beyond the month's hours or the cap: RuleViolation with code HoursOverCap."
    )
    async def log_advisor_hours(
        self, info: Info, input: LogHoursInput
    ) -> LogHoursResult:
        def path() -> str:
            agreement = local_id(input.agreement_id, "Agreement", "input.agreementId")
            return upstream_path("/agreements/{agreement}/hours", agreement=agreement)

        body = _json(
            on=input.on, hours=input.hours, minutes=input.minutes, kind=input.kind
        )
        return await run(
            lambda: _call(info, api.HoursLogged, "POST", path, body),
            lambda m: LogHoursSuccess(
                agreement_id=parse_global_id(input.agreement_id, "input.agreementId"),
                logged_hours=m.logged_hours,
                usage=AgreementUsage.from_model(m),
            ),
        )

    @strawberry.mutation(description="Charter an advisory council.")
    async def charter_council(
        self, info: Info, input: CharterCouncilInput
    ) -> CouncilResult:
        body = _json(
            name=input.name,
            purpose=input.purpose,
            cadence_weeks=input.cadence_weeks,
            decision_rights=input.decision_rights,
            publish_decisions=input.publish_decisions,
        )
        return await run(
            lambda: _call(info, api.CouncilView, "POST", "/councils", body),
            lambda m: CouncilSuccess(council=Council.from_model(m)),
        )

    @strawberry.mutation(description="Seat an advisor or sponsor on a council.")
    async def add_council_member(
        self, info: Info, input: CouncilMemberInput
    ) -> CouncilResult:
        def body() -> Body:
            member = local_id(
                input.member_id,
                "Advisor" if input.kind is CouncilMemberKind.ADVISOR else "Person",
                "input.memberId",
            )
            return {"member_id": member, "kind": input.kind.value}

        return await run(
            lambda: _call(
                info,
                api.CouncilView,
                "POST",
                lambda: upstream_path(
                    "/councils/{council}/members", council=_cid(input.council_id)
                ),
                body,
            ),
            lambda m: _council(info, m.council_id),
        )

    @strawberry.mutation(description="Record a council meeting.")
    async def record_council_meeting(
        self, info: Info, input: CouncilMeetingInput
    ) -> CouncilResult:
        body = _json(
            held_on=input.held_on, attendees=input.attendees, agenda=input.agenda
        )
        return await run(
            lambda: _call(
                info,
                api.MeetingRecorded,
                "POST",
                lambda: upstream_path(
                    "/councils/{council}/meetings", council=_cid(input.council_id)
                ),
                body,
            ),
            lambda _d: _council(info, _cid(input.council_id)),
        )

    @strawberry.mutation(description="Record a member's recommendation.")
    async def make_recommendation(
        self, info: Info, input: RecommendInput
    ) -> RecommendationResult:
        def body() -> Body:
            member = parse_global_id(input.made_by, "input.madeBy", "Advisor or Person")
            kind = "Advisor" if member.type_name == "Advisor" else "Person"
            return {
                "meeting_id": input.meeting_id,
                "title": input.title,
                "made_by": local_id(member, kind, "input.madeBy"),
            }

        return await run(
            lambda: _call(
                info,
                api.RecommendationView,
                "POST",
                lambda: upstream_path(
                    "/councils/{council}/recommendations",
                    council=_cid(input.council_id),
                ),
                body,
            ),
            lambda m: RecommendationSuccess(
                recommendation=Recommendation.from_model(m)
            ),
        )

    @strawberry.mutation(
        description="Accept, reject (saying why) or mark implemented a recommendation."
    )
    async def decide_recommendation(
        self, info: Info, input: DecideRecommendationInput
    ) -> RecommendationResult:
        body = (
            _json(rationale=input.rationale)
            if input.decision is not RecommendationDecision.IMPLEMENT
            else None
        )
        return await run(
            lambda: _call(
                info,
                api.RecommendationView,
                "POST",
                lambda: upstream_path(
                    "/recommendations/{recommendation}/{segment}",
                    recommendation=local_id(
                        input.recommendation_id,
                        "Recommendation",
                        "input.recommendationId",
                    ),
                    segment=_decision(input.decision),
                ),
                body,
            ),
            lambda m: RecommendationSuccess(
                recommendation=Recommendation.from_model(m)
            ),
        )

    @strawberry.mutation(description="Add a risk to the programme's register.")
    async def register_risk(self, info: Info, input: RegisterRiskInput) -> RiskResult:
        body = _json(
            title=input.title,
            category=input.category,
            likelihood=input.likelihood,
            impact=input.impact,
            mitigation=input.mitigation,
        )

        def with_owner() -> Body:
            return {
                **body,
                "owner_id": local_id(input.owner_id, "Person", "input.ownerId"),
            }

        return await run(
            lambda: _call(info, api.RiskView, "POST", "/risks", with_owner), _risk_ok
        )

    @strawberry.mutation(description="Score a risk again.")
    async def assess_risk(self, info: Info, input: AssessRiskInput) -> RiskResult:
        body = {"likelihood": input.likelihood, "impact": input.impact}
        return await run(
            lambda: _call(
                info,
                api.RiskView,
                "PUT",
                lambda: upstream_path(
                    "/risks/{risk}/assessment", risk=_risk(input.risk_id)
                ),
                body,
            ),
            _risk_ok,
        )

    @strawberry.mutation(description="Record a risk's mitigation plan.")
    async def mitigate_risk(self, info: Info, input: MitigateRiskInput) -> RiskResult:
        body = {"mitigation": input.mitigation, "status": input.status.value}
        return await run(
            lambda: _call(
                info,
                api.RiskView,
                "PUT",
                lambda: upstream_path(
                    "/risks/{risk}/mitigation", risk=_risk(input.risk_id)
                ),
                body,
            ),
            _risk_ok,
        )

    @strawberry.mutation(description="Close a risk.")
    async def close_risk(self, info: Info, input: RiskInput) -> RiskResult:
        return await run(
            lambda: _call(
                info,
                api.RiskView,
                "POST",
                lambda: upstream_path("/risks/{risk}/close", risk=_risk(input.risk_id)),
            ),
            _risk_ok,
        )


async def _transition(
    info: Info, advisor_id: strawberry.ID, command: str, reason: str | None = None
) -> Any:
    body = {"reason_code": reason} if reason else None
    return await run(
        lambda: _call(
            info,
            api.AdvisorView,
            "POST",
            lambda: upstream_path(
                "/advisors/{advisor}/{command}",
                advisor=_aid(advisor_id),
                command=command,
            ),
            body,
        ),
        _advisor,
    )


async def _council(info: Info, council_id: str) -> CouncilSuccess:
    found = await loaders.councils(info).load(council_id)
    return CouncilSuccess(
        council=Council.from_model(found) if found is not None else None
    )


__all__ = ["AdvisorsMutation"]
