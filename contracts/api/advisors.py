"""The advisors service's HTTP API: the request and response models of its routes.

Four areas: the advisor lifecycle (proposal, due diligence, approval, suspension,
erasure), agreements and one-off engagements, advisory councils, and the programme's
risk register; plus the batch reads the gateway's DataLoaders use. Closed sets are the
enums of :mod:`contracts.advisors` (shared with the domain and the events) or, where
only the API knows them, defined here.

Dates are ``YYYY-MM-DD``; moments are RFC 3339 with an offset
(``2030-01-02T03:04:05.123456+00:00``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from chassis.errors import FieldError, ValidationFailed
from chassis.events import ContractValue
from chassis.inputs import (
    Code,
    Count,
    Email,
    FewItems,
    Hours,
    Int32,
    Level,
    Minutes,
    Name,
    NonNegative,
    Positive,
    Rating,
    Ref,
    RequestBody,
    SaneDate,
    Text,
)
from chassis.inputs import Items as ListOf
from contracts.advisors.agreements import (
    AgreementStatus,
    Compensation,
    EngagementStatus,
    EngagementTopic,
    HoursKind,
    ScopeCategory,
)
from contracts.advisors.councils import (
    DecisionRights,
    MemberKind,
    MitigationStatus,
    RecommendationStatus,
    RiskSeverity,
    RiskStatus,
)
from contracts.advisors.lifecycle import AdvisorStatus, ApprovedProfile, CheckStatus
from contracts.profiles import AvailabilityWindow, CoachingFormat, Strength

# A moment as the service has always written it: ``datetime.isoformat()``.
Moment = Annotated[
    datetime,
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
Month = Annotated[str, Field(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")]
HoursText = Annotated[
    str,
    Field(
        pattern=r"^\d+(\.\d{1,2})?$",
        description='Hours for people, to the hundredth ("1.5")',
    ),
]
Org = Name
Long = Annotated[Text, Field(max_length=4_000)]
CheckName = Annotated[
    Code,
    Field(
        pattern=r"^[a-z][a-z0-9_]{1,47}$",
        description="A check's name as the checklist spells it (conflict_of_interest)",
    ),
]
Ids = Annotated[ListOf[Ref], Field(max_length=200)]


class CheckOutcome(StrEnum):
    """The result a coordinator records for a due-diligence check."""

    PASSED = "passed"
    FAILED = "failed"


class RecommendationVerb(StrEnum):
    """What a decider does with a council's recommendation."""

    ACCEPT = "accept"
    REJECT = "reject"
    IMPLEMENT = "implement"


class IdsIn(RequestBody):
    """Ids to read in one call (repeated ids are read once)."""

    ids: Ids = Field(description="ids, at most 200")


# == the advisor lifecycle =========================================================


class CheckSpec(ContractValue):
    """One line of a tenant's due-diligence checklist."""

    # The domain refuses another shape with the field named (validate_checklist).
    name: Code = Field(
        description="The check (lower-case letters, digits and _)",
        json_schema_extra={"pattern": r"^[a-z][a-z0-9_]{1,47}$"},
    )
    required: bool = Field(True, description="Approval waits for it to pass")
    owner: Name | None = Field(None, description="Who is responsible for it")


class Proposal(RequestBody):
    """An external advisor proposed to the programme."""

    name: Name
    email: Email
    organisation: Org | None = None
    bio: Long | None = None
    expertise_sought: Annotated[FewItems[Name], Field(min_length=1, max_length=30)]
    person_id: Ref | None = Field(
        None, description="The advisor's id in profiles, when they are a person there"
    )


class CheckResult(RequestBody):
    status: CheckOutcome
    evidence: Long | None = None
    owner: Name | None = None
    expires_on: SaneDate | None = Field(
        None, description="A passed check lapses after this day"
    )


class Conflicts(RequestBody):
    """Organisations the advisor declares ties with (replaces the last declaration)."""

    employers: FewItems[Org] = Field(default_factory=list)
    board_seats: FewItems[Org] = Field(default_factory=list)
    competitors: FewItems[Org] = Field(default_factory=list)
    vendors: FewItems[Org] = Field(default_factory=list)


class ExpertiseProfile(RequestBody):
    """What matching needs to offer the advisor as an external mentor."""

    geography: Annotated[Code, Field(min_length=2, description="ISO country code")]
    time_zone: Code = Field(description="IANA time zone name")
    languages: FewItems[Code] = Field(default_factory=list)
    level: Level = 10
    strengths: FewItems[Strength] = Field(default_factory=list)
    industries: FewItems[Name] = Field(default_factory=list)
    markets: FewItems[Name] = Field(default_factory=list)
    functions_led: FewItems[Name] = Field(default_factory=list)
    crisis_experience: FewItems[Name] = Field(default_factory=list)
    formats: FewItems[CoachingFormat] = Field(default_factory=list)
    max_mentees: Annotated[Count, Field(le=20)] = 0
    hours_per_month: Annotated[Hours, Field(le=200)] = 0
    availability: FewItems[AvailabilityWindow] = Field(default_factory=list)

    @field_validator("availability")
    @classmethod
    def _windows_end_after_they_start(
        cls, windows: list[AvailabilityWindow]
    ) -> list[AvailabilityWindow]:
        for window in windows:
            if window.end <= window.start:  # "HH:MM" compares as text
                raise ValueError(
                    f"a window ends after it starts ({window.start}-{window.end})"
                )
        return windows


class Reason(RequestBody):
    reason_code: Code = "coordinator_decision"


class Checklist(RequestBody):
    checks: Annotated[FewItems[CheckSpec], Field(min_length=1, max_length=30)]


class Restricted(RequestBody):
    organisations: ListOf[Org]


class AdvisorProfile(ApprovedProfile):
    """The expertise profile given at approval, as stored."""


class CheckState(BaseModel):
    """Where one check of the advisor's checklist stands."""

    required: bool = Field(description="Approval waits for it to pass")
    status: CheckStatus
    owner: str | None = Field(description="Who is responsible for it")
    expires_on: date | None = Field(description="A passed check lapses after this day")
    reason_code: str | None = Field(
        description="Why it stands so (`restricted_organisation` …)"
    )
    evidence: str | None = Field(
        None,
        description="The evidence recorded; present only for coordinators, admins, "
        "sponsors and the advisor",
    )


class DeclaredConflicts(BaseModel):
    """The advisor's last declaration of ties (each list absent until declared)."""

    employers: list[str] | None = None
    board_seats: list[str] | None = None
    competitors: list[str] | None = None
    vendors: list[str] | None = None


PERSONAL = "present only for coordinators, admins, sponsors and the advisor"


class AdvisorView(BaseModel):
    """An advisor as the caller may see them.

    An erased advisor has ``advisor_id``, ``status`` (``erased``) and ``erased``
    only. Otherwise ``expertise_sought``, ``reason_code``, ``profile`` and ``checks``
    are present, and the personal fields (``name``, ``email``, ``organisation``,
    ``bio``, ``person_id``, ``conflicts``, each check's ``evidence``) are present
    only for coordinators, admins, sponsors and the advisor themself.
    """

    advisor_id: str
    status: AdvisorStatus
    expertise_sought: list[str] = Field(
        default_factory=list, description="Absent once erased"
    )
    reason_code: str | None = Field(
        None, description="Why rejected or suspended; absent once erased"
    )
    profile: AdvisorProfile | None = Field(
        None,
        description="The profile given at approval (null before); absent once erased",
    )
    erased: bool
    name: str | None = Field(None, description=PERSONAL)
    email: str | None = Field(None, description=PERSONAL)
    organisation: str | None = Field(None, description=PERSONAL)
    bio: str | None = Field(None, description=PERSONAL)
    person_id: str | None = Field(None, description=PERSONAL)
    conflicts: DeclaredConflicts | None = Field(None, description=PERSONAL)
    checks: dict[str, CheckState] = Field(
        default_factory=dict, description="By check name; absent once erased"
    )


class AdvisorPage(BaseModel):
    """A page of advisors by id."""

    items: list[AdvisorView]
    next_after: str | None = Field(
        description="Pass as `after` for the next page (null: this is the last)"
    )


class AdvisorList(BaseModel):
    items: list[AdvisorView]


class RestrictedOrganisations(BaseModel):
    """Organisations a declared tie with fails the conflict-of-interest check."""

    organisations: list[str]


class ChecklistView(BaseModel):
    """The tenant's due-diligence checklist."""

    checks: list[CheckSpec]


# == agreements and engagements ====================================================


class CompensationIn(RequestBody):
    """``Compensation`` as a caller sends it, each amount bounded."""

    pro_bono: bool = False
    rate_minor_units: NonNegative | None = Field(None, description="per hour")
    # The domain checks the code against ISO 4217 (``compensation.currency``).
    currency: (
        Annotated[Code, Field(json_schema_extra={"pattern": "^[A-Z]{3}$"})] | None
    ) = Field(None, description="ISO 4217 code (EUR, USD); required unless pro bono")
    cap_minor_units: NonNegative | None = None
    cap_hours: NonNegative | None = None

    def terms(self) -> Compensation:
        return Compensation(**self.model_dump())


class SignBody(RequestBody):
    advisor_id: Ref
    starts_on: SaneDate
    ends_on: SaneDate = Field(description="After starts_on")
    scope: ScopeCategory
    scope_text: Annotated[Text, Field(max_length=4_000)] | None = None
    hours_per_month: Annotated[Hours, Field(ge=1, le=200)]
    compensation: CompensationIn
    renewable: bool = True


class HoursBody(RequestBody):
    """Hours as a decimal ("1.5") or whole minutes; exactly one of them."""

    hours: (
        Annotated[
            Decimal,
            Field(gt=0, le=744, max_digits=9, decimal_places=6),
            # What is accepted, as integrators see it: a number, or a decimal string.
            WithJsonSchema(
                {
                    "anyOf": [
                        {"type": "number", "exclusiveMinimum": 0, "maximum": 744},
                        {
                            "type": "string",
                            "maxLength": 10,
                            "pattern": r"^\d{1,3}(\.\d{1,6})?$",
                        },
                    ]
                }
            ),
        ]
        | None
    ) = None
    minutes: Annotated[Minutes, Field(gt=0, le=44_640)] | None = None
    on: SaneDate
    kind: HoursKind = HoursKind.MENTORING

    def total_minutes(self) -> int:
        if (self.hours is None) == (self.minutes is None):
            raise ValidationFailed([FieldError("hours", "give hours or minutes")])
        if self.minutes is not None:
            return self.minutes
        assert self.hours is not None
        exact = self.hours * 60
        if exact != exact.to_integral_value():
            raise ValidationFailed([FieldError("hours", "must be whole minutes")])
        return int(exact)


class RenewBody(RequestBody):
    ends_on: SaneDate = Field(description="After the current end of term")


class TerminateBody(RequestBody):
    on: SaneDate = Field(description="On or after the last day hours were logged")
    reason_code: Code


class ScheduleBody(RequestBody):
    advisor_id: Ref
    topic: EngagementTopic
    on: SaneDate
    audience_size: Annotated[Positive, Field(le=10_000)]


class Usage(BaseModel):
    """Hours and money used under an agreement, this month and over its term."""

    month: Month
    minutes_this_month: int
    hours_this_month: HoursText
    remaining_minutes_this_month: int = Field(
        description="Left this month under the monthly commitment"
    )
    total_minutes: int
    total_hours: HoursText
    cost_minor_units: int = Field(description="Cost so far, in minor units")
    currency: str | None = Field(description="ISO 4217 (null: pro bono)")
    remaining_minor_units: int | None = Field(
        description="Money left under the cap (null: no money cap)"
    )
    remaining_cap_minutes: int | None = Field(
        description="Minutes left under the hours cap (null: no hours cap)"
    )


class AgreementUsage(Usage):
    """An agreement's usage on a day (``on``, today by default)."""

    agreement_id: str


class HoursLogged(AgreementUsage):
    """The hours just logged, and the agreement's usage that day."""

    logged_hours: HoursText


class AgreementView(BaseModel):
    """An agreement with its terms."""

    agreement_id: str
    advisor_id: str
    status: AgreementStatus
    starts_on: date
    ends_on: date
    scope: ScopeCategory
    scope_text: str | None = Field(description="The scope, as written")
    hours_per_month: int = Field(description="Hours a month at most")
    compensation: Compensation
    renewable: bool
    ending_soon: bool = Field(description="The end of term is within the notice")
    version: int = Field(description="Version of the agreement's stream")


class AgreementWithUsage(AgreementView):
    usage: Usage = Field(description="This month's usage")


class AgreementSummary(BaseModel):
    """An agreement as the list shows it (no scope text or compensation)."""

    agreement_id: str
    advisor_id: str
    status: AgreementStatus
    starts_on: date
    ends_on: date
    scope: ScopeCategory
    hours_per_month: int
    ending_soon: bool


class AgreementSummaries(BaseModel):
    items: list[AgreementSummary]


class AgreementList(BaseModel):
    items: list[AgreementWithUsage]


class ScheduledEngagement(BaseModel):
    """An engagement just scheduled."""

    engagement_id: str
    status: EngagementStatus
    advisor_id: str
    topic: EngagementTopic
    on: date
    audience_size: int


class DeliveredEngagement(BaseModel):
    """An engagement just delivered, and the agreement its hours went on."""

    engagement_id: str
    status: EngagementStatus
    agreement_id: str
    minutes: int


class EngagementView(BaseModel):
    """A one-off engagement."""

    engagement_id: str
    advisor_id: str
    topic: EngagementTopic
    on: date
    audience_size: int
    status: EngagementStatus
    agreement_id: str | None = Field(description="Once delivered")
    minutes: int | None = Field(description="Once delivered")


class EngagementList(BaseModel):
    items: list[EngagementView]


# == councils ======================================================================


class CharterIn(RequestBody):
    name: Name
    purpose: Annotated[Text, Field(min_length=1, max_length=5_000)]
    # The domain refuses what the schema does not allow with its own problems
    # (DecisionRightsNotAdvisory, CadenceOutOfRange); the schema shows the rule.
    decision_rights: Code = Field(
        "advise",
        description="always 'advise': anything else is refused "
        "(DecisionRightsNotAdvisory)",
        json_schema_extra={"enum": [DecisionRights.ADVISE.value]},
    )
    cadence_weeks: Int32 = Field(
        description="a meeting every N weeks (1-52; else CadenceOutOfRange)",
        json_schema_extra={"minimum": 1, "maximum": 52},
    )
    publish_decisions: bool = False


class MemberIn(RequestBody):
    member_id: Ref
    kind: MemberKind


AgendaItem = Annotated[Text, Field(min_length=1, max_length=2_000)]


class MeetingIn(RequestBody):
    held_on: SaneDate = Field(description="Today or earlier")
    attendees: Annotated[int, Field(ge=1, le=500)]
    agenda: Annotated[ListOf[AgendaItem], Field(max_length=100)] = Field(
        default_factory=list
    )


class RecommendationIn(RequestBody):
    meeting_id: Ref
    title: Name
    made_by: Ref = Field(description="the member who recommends")


class DecisionIn(RequestBody):
    rationale: Text | None = Field(
        None, description="Why (required to reject, optional to accept)"
    )


class MemberView(BaseModel):
    member_id: str
    kind: MemberKind


class MeetingView(BaseModel):
    meeting_id: str
    held_on: date
    attendees: int
    agenda_items: int
    agenda: list[str] | None = Field(description="The agenda (private to readers)")


class CouncilView(BaseModel):
    """A council: charter, members, meetings and the next meeting due."""

    council_id: str
    name: str
    purpose: str
    decision_rights: DecisionRights
    cadence_weeks: int = Field(description="A meeting every N weeks")
    publish_decisions: bool
    members: list[MemberView]
    meetings: list[MeetingView]
    next_meeting_due: date | None = Field(
        description="By the cadence (null: none held)"
    )
    meeting_overdue: bool
    recommendations: int = Field(description="How many recommendations were made")


class RecommendationView(BaseModel):
    """A recommendation and what became of it."""

    recommendation_id: str
    meeting_id: str
    title: str
    made_by: str = Field(description="The member who recommended it")
    made_at: Moment
    status: RecommendationStatus
    age_days: int = Field(description="Days since it was made")
    decided_by: str | None
    decided_at: Moment | None
    rationale: str | None


class DecidedRecommendation(RecommendationView):
    decision: RecommendationStatus = Field(description="accepted or rejected")


class CouncilWithRecommendations(CouncilView):
    recommendation_list: list[RecommendationView] = Field(
        description="Its recommendations, oldest first"
    )


class CouncilList(BaseModel):
    items: list[CouncilWithRecommendations]


class CouncilSummary(BaseModel):
    """A council as the list shows it."""

    council_id: str
    tenant: str = Field(description="The organisation")
    name: str
    purpose: str
    cadence_weeks: int
    publish_decisions: bool
    chartered_at: Moment


class MeetingRecorded(BaseModel):
    meeting_id: str
    held_on: date
    attendees: int
    agenda: list[str]


# == the risk register =============================================================


class RiskIn(RequestBody):
    title: Name
    category: Annotated[Name, Field(max_length=60)]
    likelihood: Rating
    impact: Rating
    owner_id: Ref
    mitigation: Text = ""


class AssessmentIn(RequestBody):
    likelihood: Rating
    impact: Rating


class MitigationIn(RequestBody):
    mitigation: Annotated[Text, Field(min_length=1)]
    status: MitigationStatus = MitigationStatus.MITIGATING


class RiskView(BaseModel):
    """A risk as it stands."""

    risk_id: str
    title: str
    category: str
    likelihood: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)
    score: int = Field(ge=1, le=25, description="likelihood x impact")
    severity: RiskSeverity
    owner_id: str
    mitigation: str
    status: RiskStatus


class RegisteredRisk(RiskView):
    raised_at: Moment


class HeatCell(BaseModel):
    """One cell of the 5x5 heat map."""

    likelihood: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)
    score: int = Field(ge=1, le=25)
    severity: RiskSeverity
    count: int = Field(ge=0, description="Risks in the cell")


class RiskRegister(BaseModel):
    """The register, highest likelihood x impact first, and its heat map."""

    risks: list[RegisteredRisk]
    heat_map: list[HeatCell]


class RiskList(BaseModel):
    items: list[RiskView]
