"""Every closed set of the API as a GraphQL enum, with what each value means.

A value's Python ``value`` is the service's wire string (``"after_action_review"``),
its GraphQL name the upper-case form (``AFTER_ACTION_REVIEW``): resolvers read a
service answer with ``Enum(wire)`` (or :func:`wire_enum`) and send ``member.value``.

The sets come from the services' domains: those published in ``contracts`` and the
services' OpenAPI documents, the rest (states kept inside a service) copied here;
``tests/gateway/test_schema_rules.py`` compares every enum with its source so they
cannot drift.
"""

from __future__ import annotations

import enum
from typing import Any, TypeVar

import strawberry

from contracts.advisors.agreements import HoursKind, ScopeCategory

E = TypeVar("E", bound=enum.Enum)


def wire_enum(cls: type[E], value: object) -> E | None:
    """The member whose wire value is ``value`` (``None`` for none or unknown)."""
    if value is None:
        return None
    try:
        return cls(value)
    except ValueError:
        return None


def v(value: str, description: str) -> Any:
    return strawberry.enum_value(value, description=description)


@strawberry.enum(description="A role a person holds in the mentoring programme.")
class ProgrammeRole(enum.Enum):
    MENTEE = v("mentee", description="Is mentored.")
    MENTOR = v("mentor", description="Mentors others.")
    REVERSE_MENTOR = v("reverse_mentor", description="Mentors someone more senior.")
    SPONSOR = v("sponsor", description="Sponsors a mentee.")
    COORDINATOR = v("coordinator", description="Runs the programme.")


@strawberry.enum(description="How mentoring takes place.")
class CoachingFormat(enum.Enum):
    ONE_TO_ONE = v("one_to_one", description="One to one.")
    GROUP = v("group", description="In a group.")
    SHADOWING = v("shadowing", description="Shadowing the mentor.")
    PROJECT = v("project", description="On a shared project.")


@strawberry.enum(description="An HR outcome in a person's career.")
class OutcomeKind(enum.Enum):
    PROMOTION = v("promotion", description="Promoted.")
    ROLE_CHANGE = v("role_change", description="Changed role.")
    LATERAL_MOVE = v("lateral_move", description="Moved sideways.")
    DEPARTURE = v("departure", description="Left the company.")


@strawberry.enum(description="A stage of a cohort's pathway, in this order.")
class PathwayStage(enum.Enum):
    INTAKE = v("intake", description="Applications and intake.")
    PAIRING = v("pairing", description="Mentors are matched.")
    DEVELOPMENT = v("development", description="The relationships run.")
    EVALUATION = v("evaluation", description="Outcomes measured.")
    CLOSED = v("closed", description="The cohort is over.")


@strawberry.enum(description="The kind of programme a cohort runs.")
class ProgrammeType(enum.Enum):
    STANDARD = v("standard", description="Senior mentors junior.")
    REVERSE = v("reverse", description="Junior mentors senior.")
    EXTERNAL = v("external", description="External advisors.")
    GROUP = v("group", description="Group mentoring.")


@strawberry.enum(description="Where a person stands in a cohort.")
class MembershipStatus(enum.Enum):
    ADMITTED = v("admitted", description="Has a seat.")
    WAITING = v("waiting", description="On the waiting list.")


@strawberry.enum(description="Where an import job is.")
class ImportStatus(enum.Enum):
    QUEUED = v("queued", description="Accepted, not started.")
    RUNNING = v("running", description="Applying records.")
    SUCCEEDED = v(
        "succeeded", description="Every record was handled (some may have failed)."
    )
    FAILED = v(
        "failed", description="The job stopped; submit it again (it is idempotent)."
    )


@strawberry.enum(description="The format of an HRIS export.")
class ImportFormat(enum.Enum):
    JSON = v("json", description="A list of record objects.")
    CSV = v("csv", description="CSV text with a header row.")


@strawberry.enum(description="Where a person's account stands.")
class PersonStatus(enum.Enum):
    ACTIVE = v("active", "Takes part in the programme.")
    INACTIVE = v("inactive", "Deactivated (left, or on leave); keeps their history.")
    ERASED = v("erased", "Erased on request: only a tombstone remains.")


# -- matching ------------------------------------------------------------------------


@strawberry.enum(description="Where a proposed or agreed pair stands.")
class PairingStatus(enum.Enum):
    PROPOSED = v("proposed", "Proposed, waiting for a coordinator or the pair.")
    APPROVED = v("approved", "Approved by a coordinator, waiting for the pair.")
    CONFIRMED = v("confirmed", "Both accepted: the relationship has started.")
    DECLINED = v("declined", "One of the two declined.")
    EXPIRED = v("expired", "Left unanswered past its deadline.")
    WITHDRAWN = v("withdrawn", "Withdrawn by a coordinator.")
    ENDED = v("ended", "The relationship it started is over.")


@strawberry.enum(description="What happened to a pairing (a subscription event).")
class PairingUpdateKind(enum.Enum):
    PROPOSED = v("proposed", "It was proposed.")
    APPROVED = v("approved", "A coordinator approved it.")
    ACCEPTED = v("accepted", "One of the two accepted it.")
    CONFIRMED = v("confirmed", "Both accepted: the relationship started.")
    DECLINED = v("declined", "One of the two declined.")
    EXPIRED = v("expired", "It expired unanswered.")
    WITHDRAWN = v("withdrawn", "A coordinator withdrew it.")
    ENDED = v("ended", "It ended.")


@strawberry.enum(description="The step of a pairing a reason was given with.")
class PairingStep(enum.Enum):
    PROPOSED = v("PairingProposed", "Proposed outside a round (a re-pairing).")
    DECLINED = v("PairingDeclined", "Declined by one of the two.")
    WITHDRAWN = v("PairingWithdrawn", "Withdrawn by a coordinator.")
    ENDED = v("PairingEnded", "Ended by a coordinator.")
    FORBIDDEN = v("PairForbidden", "The pair was ruled out.")
    REPAIRING_REQUESTED = v("RepairingRequested", "A new mentor was asked for.")


@strawberry.enum(description="Where a matching round stands.")
class RoundStatus(enum.Enum):
    RUNNING = v("running", "Scoring and pairing.")
    COMPLETED = v("completed", "Done: its pairs are proposed.")
    FAILED = v("failed", "Stopped by an error; run it again.")
    INTERRUPTED = v("interrupted", "Stopped by a restart; run it again.")


@strawberry.enum(description="What a matching round optimises.")
class MatchingMode(enum.Enum):
    QUALITY = v("quality", "The best total score, even if some mentees wait.")
    COVERAGE = v("coverage", "As many mentees paired as possible first.")


# -- sessions ------------------------------------------------------------------------


@strawberry.enum(description="Where a mentoring relationship stands.")
class RelationshipStatus(enum.Enum):
    ACTIVE = v("active", "Running.")
    PAUSED = v("paused", "Paused by the pair or a coordinator.")
    CONCLUDED = v("concluded", "Over.")


@strawberry.enum(description="Why a relationship was concluded.")
class ConclusionReason(enum.Enum):
    COMPLETED = v("completed", "It ran its course.")
    REMATCHED = v("rematched", "The mentee was paired again.")
    WITHDRAWN = v("withdrawn", "One of the two withdrew.")
    INACTIVE = v("inactive", "Closed after an inactivity warning went unanswered.")


@strawberry.enum(description="Where a session stands.")
class SessionState(enum.Enum):
    SCHEDULED = v("scheduled", "Planned.")
    HELD = v("held", "It took place.")
    CANCELLED = v("cancelled", "Cancelled beforehand.")
    MISSED = v("missed", "Someone did not come.")


@strawberry.enum(description="Why a session was cancelled.")
class CancellationReason(enum.Enum):
    SCHEDULE_CONFLICT = v("schedule_conflict", "A clash in someone's calendar.")
    ILLNESS = v("illness", "Someone was ill.")
    BUSINESS_PRIORITY = v("business_priority", "Work came first.")
    NO_LONGER_NEEDED = v("no_longer_needed", "The session is not needed any more.")
    RELATIONSHIP_PAUSED = v("relationship_paused", "The relationship is paused.")
    OTHER = v("other", "Another reason (the explanation stays private).")


@strawberry.enum(description="Where a milestone stands.")
class MilestoneState(enum.Enum):
    OPEN = v("open", "Not achieved yet.")
    ACHIEVED = v("achieved", "Confirmed achieved, with evidence.")
    MISSED = v("missed", "Not achieved.")


@strawberry.enum(description="Progress reported on an open milestone.")
class MilestoneProgress(enum.Enum):
    IN_PROGRESS = v("in_progress", "Work is going on.")
    AT_RISK = v("at_risk", "It may not be achieved on time.")
    BLOCKED = v("blocked", "Something prevents it.")
    MISSED = v("missed", "It will not be achieved.")


@strawberry.enum(description="Who confirmed a milestone's achievement.")
class ConfirmerRole(enum.Enum):
    MENTOR = v("mentor", "The mentor.")
    COORDINATOR = v("coordinator", "A coordinator.")


@strawberry.enum(description="The kind of a check-in.")
class CheckInKind(enum.Enum):
    MONTHLY = v("monthly", "The monthly alignment check of the pair.")
    QUARTERLY = v("quarterly", "The quarterly review, with the sponsor.")


@strawberry.enum(description="Where a rotation stands.")
class RotationState(enum.Enum):
    ASSIGNED = v("assigned", "Assigned, not debriefed yet.")
    DEBRIEFED = v("debriefed", "The leader's debrief is recorded.")
    COMPLETED = v("completed", "Completed.")


@strawberry.enum(description="The kind of project of a rotation.")
class ProjectKind(enum.Enum):
    CROSS_FUNCTIONAL_LAUNCH = v("cross_functional_launch", "A cross-functional launch.")
    COST_TO_SERVE_ANALYSIS = v("cost_to_serve_analysis", "A cost-to-serve analysis.")
    MARKET_ENTRY = v("market_entry", "A market entry.")
    PROCESS_REDESIGN = v("process_redesign", "A process redesign.")
    OTHER = v("other", "Another project.")


@strawberry.enum(description="Where an escalation stands.")
class EscalationState(enum.Enum):
    OPEN = v("open", "Raised, not resolved yet.")
    RESOLVED = v("resolved", "Resolved by a coordinator.")


@strawberry.enum(description="What a concern is about.")
class EscalationCategory(enum.Enum):
    CHEMISTRY = v("chemistry", "The two do not get on.")
    AVAILABILITY = v("availability", "Finding time to meet.")
    CONFIDENTIALITY = v("confidentiality", "Something shared went further.")
    GOALS = v("goals", "The goals or their progress.")
    CONDUCT = v("conduct", "Someone's conduct.")
    OTHER = v("other", "Something else.")


@strawberry.enum(description="How an escalation was resolved.")
class EscalationOutcome(enum.Enum):
    RESOLVED = v("resolved", "Sorted out; the relationship goes on.")
    REPAIR_REQUESTED = v(
        "repair_requested", "Matching is asked to pair the mentee again."
    )
    CONCLUDED = v("concluded", "The relationship is concluded.")


@strawberry.enum(description="One side of a mentoring pair.")
class PartyRole(enum.Enum):
    MENTOR = v("mentor", "The mentor.")
    MENTEE = v("mentee", "The mentee.")


@strawberry.enum(description="The kind of a note.")
class NoteKind(enum.Enum):
    SESSION_NOTE = v("session_note", "Notes of a session.")
    JOURNAL = v("journal", "A journal entry, often answering a prompt.")
    AFTER_ACTION_REVIEW = v("after_action_review", "A review after an action.")


@strawberry.enum(description="Who may read a note.")
class NoteVisibility(enum.Enum):
    PRIVATE = v("private", "Its author alone.")
    SHARED = v("shared", "The pair.")


@strawberry.enum(description="What a feedback rates.")
class FeedbackAbout(enum.Enum):
    SESSION = v("session", "A session.")
    MILESTONE = v("milestone", "A milestone.")


@strawberry.enum(description="How a session takes place.")
class SessionFormat(enum.Enum):
    ONE_TO_ONE = v("one_to_one", "One to one.")
    GROUP = v("group", "In a group.")
    SHADOWING = v("shadowing", "The mentee shadows the mentor.")
    PROJECT = v("project", "On a shared project.")


@strawberry.enum(description="Whether a pulse survey still takes answers.")
class SurveyState(enum.Enum):
    OPEN = v("open", "Takes answers.")
    CLOSED = v("closed", "Closed: results only.")


# -- advisors ------------------------------------------------------------------------


@strawberry.enum(description="Where an external advisor stands in their lifecycle.")
class AdvisorStatus(enum.Enum):
    PROPOSED = v("proposed", "Proposed by a sponsor.")
    DUE_DILIGENCE = v("due_diligence", "Under due diligence.")
    APPROVED = v("approved", "Every required check passed.")
    CONTRACTED = v("contracted", "An agreement is signed.")
    ACTIVE = v("active", "Mentoring or advising.")
    SUSPENDED = v("suspended", "A check lapsed: paused until it passes again.")
    REJECTED = v("rejected", "Not approved.")
    OFFBOARDED = v("offboarded", "No longer works with the organisation.")
    ERASED = v("erased", "Erased on request.")


@strawberry.enum(description="Where a due diligence check stands.")
class CheckStatus(enum.Enum):
    OPEN = v("open", "Not done yet.")
    PASSED = v("passed", "Passed.")
    FAILED = v("failed", "Failed.")
    EXPIRED = v("expired", "Passed once, now past its expiry.")


@strawberry.enum(description="The result of a due diligence check.")
class CheckResult(enum.Enum):
    PASSED = v("passed", "Passed.")
    FAILED = v("failed", "Failed.")


@strawberry.enum(description="Where an advisor's agreement stands.")
class AgreementStatus(enum.Enum):
    ACTIVE = v("active", "In force.")
    ENDED = v("ended", "Ran to its end.")
    TERMINATED = v("terminated", "Ended early, with notice.")


strawberry.enum(
    ScopeCategory, name="AgreementScope", description="What an agreement covers."
)
strawberry.enum(HoursKind, description="What hours logged were spent on.")
AgreementScope = ScopeCategory


@strawberry.enum(description="Who sits on a council.")
class CouncilMemberKind(enum.Enum):
    ADVISOR = v("advisor", "An external advisor.")
    SPONSOR = v("sponsor", "A sponsor of the organisation.")


@strawberry.enum(description="What a council may do with its advice.")
class DecisionRights(enum.Enum):
    ADVISE = v("advise", "It advises; the organisation decides.")


@strawberry.enum(description="Where a council's recommendation stands.")
class RecommendationStatus(enum.Enum):
    OPEN = v("open", "Made, not decided yet.")
    ACCEPTED = v("accepted", "Accepted.")
    REJECTED = v("rejected", "Rejected, with a rationale.")
    IMPLEMENTED = v("implemented", "Accepted and done.")


@strawberry.enum(description="A decision on a recommendation.")
class RecommendationDecision(enum.Enum):
    ACCEPT = v("accept", "Accept it.")
    REJECT = v("reject", "Reject it (a rationale is required).")
    IMPLEMENT = v("implement", "Mark it done.")


@strawberry.enum(description="Where a risk of the register stands.")
class RiskStatus(enum.Enum):
    OPEN = v("open", "Registered, no mitigation under way.")
    MITIGATING = v("mitigating", "Being mitigated.")
    CLOSED = v("closed", "No longer a risk.")


@strawberry.enum(description="A risk's status set by a mitigation.")
class MitigationStatus(enum.Enum):
    OPEN = v("open", "Back to open.")
    MITIGATING = v("mitigating", "Being mitigated.")


@strawberry.enum(description="The band of a risk's score (likelihood times impact).")
class RiskSeverity(enum.Enum):
    LOW = v("low", "Score below 5.")
    MEDIUM = v("medium", "Score 5 to 9.")
    HIGH = v("high", "Score 10 to 19.")
    CRITICAL = v("critical", "Score 20 or more.")


# -- insights ------------------------------------------------------------------------


@strawberry.enum(description="A relationship's health.")
class HealthState(enum.Enum):
    ON_TRACK = v("on_track", "Meeting as agreed, milestones moving.")
    NEEDS_CHECK_IN = v("needs_check_in", "Drifting: a coordinator should check in.")
    AT_RISK = v("at_risk", "Likely to fail without help.")
    TOO_EARLY = v("too_early", "Too new to judge.")
    CONCLUDED = v("concluded", "Over.")


@strawberry.enum(description="How urgent an early warning is.")
class WarningLevel(enum.Enum):
    NEEDS_CHECK_IN = v("needs_check_in", "A coordinator should check in.")
    AT_RISK = v("at_risk", "Likely to fail without help.")
    IDLE = v("idle", "No activity past the idle limit.")


@strawberry.enum(
    description="What an equity report groups people by: an organisational "
    "dimension, or one demographic attribute (named by `attribute`)."
)
class EquityDimension(enum.Enum):
    BUSINESS_UNIT = v("business_unit", "Business unit.")
    LEVEL_BAND = v("level_band", "Band of grade levels.")
    TENURE_BAND = v("tenure_band", "Band of years since hire.")
    GEOGRAPHY = v("geography", "Country (ISO 3166-1).")
    DEMOGRAPHICS = v(
        "demographics",
        "A demographic attribute people consented to share: in aggregate only, "
        "small groups withheld.",
    )


@strawberry.enum(description="What a group scorecard covers.")
class ScorecardScope(enum.Enum):
    COHORT = v("cohort", "One cohort.")
    PROGRAMME = v("programme", "The whole programme.")
