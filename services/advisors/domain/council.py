"""An advisory council: a charter (purpose, advisory decision rights, cadence), its
members (advisors and internal sponsors), its meetings, and the recommendations they
make, followed up until accepted, rejected with a rationale, or implemented."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from chassis.aggregate import Aggregate
from chassis.errors import Conflict, DomainError, Forbidden, NotFound
from contracts.advisors import councils as c
from contracts.advisors.councils import (
    DecisionRights,
    MemberKind,
    RecommendationStatus,
)
from services.advisors.domain.events import registry

ADVISE = DecisionRights.ADVISE
OPEN = RecommendationStatus.OPEN
ACCEPTED = RecommendationStatus.ACCEPTED
REJECTED = RecommendationStatus.REJECTED
IMPLEMENTED = RecommendationStatus.IMPLEMENTED
STATUSES = tuple(RecommendationStatus)


@registry.override
class CouncilMeetingHeld(c.CouncilMeetingHeld):
    """The agenda is kept encrypted under the council's key and never published."""

    personal_fields = ("agenda",)
    agenda: list[str] | None = None


@registry.override
class RecommendationAccepted(c.RecommendationAccepted):
    rationale: str | None = None


@registry.override
class RecommendationRejected(c.RecommendationRejected):
    rationale: str


class DecisionRightsNotAdvisory(DomainError):
    code = "DecisionRightsNotAdvisory"
    title = "An advisory council advises; it cannot be chartered to decide"


class CadenceOutOfRange(DomainError):
    code = "CadenceOutOfRange"
    title = "A council meets every 1 to 52 weeks"


class AlreadyMember(Conflict):
    code = "AlreadyMember"
    title = "Already a member of this council"


class NotAMember(DomainError):
    code = "NotAMember"
    title = "Not a member of this council"


class UnknownMeeting(DomainError):
    code = "UnknownMeeting"
    title = "The council held no such meeting"


class MeetingNotHeldYet(DomainError):
    code = "MeetingNotHeldYet"
    title = "A meeting is recorded once it has been held"


class UnknownRecommendation(NotFound):
    code = "UnknownRecommendation"
    title = "No such recommendation"


class RationaleRequired(DomainError):
    code = "RationaleRequired"
    title = "Rejecting a recommendation needs a rationale"


class AlreadyDecided(Conflict):
    code = "AlreadyDecided"
    title = "The recommendation was already accepted or rejected"


class NotAccepted(DomainError):
    code = "RecommendationNotAccepted"
    title = "Only an accepted recommendation can be implemented"


class DeciderNotEligible(Forbidden):
    code = "DeciderNotEligible"
    title = "Recommendations are decided by a sponsor of the council or a coordinator"


class Recommendation:
    """Follow-up state of one recommendation (part of the council's stream)."""

    def __init__(self, made: c.RecommendationMade) -> None:
        self.id = made.recommendation_id
        self.meeting_id = made.meeting_id
        self.title = made.title
        self.made_by = made.made_by
        self.made_at = made.made_at
        self.status = OPEN
        self.decided_by: str | None = None
        self.decided_at: datetime | None = None
        self.rationale: str | None = None
        self.implemented_at: datetime | None = None

    @property
    def decision(self) -> RecommendationStatus | None:
        if self.status == OPEN:
            return None
        return REJECTED if self.status == REJECTED else ACCEPTED

    def age_days(self, now: datetime) -> int:
        return max(0, (now - self.made_at).days)


class Council(Aggregate):
    def initial_state(self) -> None:
        self.charter: c.CouncilChartered | None = None
        self.members: dict[str, MemberKind] = {}
        self.meetings: dict[str, CouncilMeetingHeld] = {}
        self.recommendations: dict[str, Recommendation] = {}

    # -- commands ---------------------------------------------------------------------

    @classmethod
    def charter_new(
        cls,
        council_id: str,
        tenant: str,
        *,
        name: str,
        purpose: str,
        decision_rights: str,
        cadence_weeks: int,
        publish_decisions: bool,
    ) -> Council:
        if decision_rights != ADVISE:
            raise DecisionRightsNotAdvisory(
                f"decision rights must be {ADVISE!r}, not {decision_rights!r}"
            )
        if not 1 <= cadence_weeks <= 52:
            raise CadenceOutOfRange(f"cadence of {cadence_weeks} weeks")
        council = cls(council_id, tenant)
        council.initial_state()
        council._record(
            c.CouncilChartered(
                council_id=council_id,
                name=name,
                purpose=purpose,
                decision_rights=ADVISE,
                cadence_weeks=cadence_weeks,
                publish_decisions=publish_decisions,
            )
        )
        return council

    def add_member(self, member_id: str, kind: MemberKind) -> None:
        if member_id in self.members:
            raise AlreadyMember(f"{member_id} is already a member")
        self._record(
            c.CouncilMemberAdded(
                council_id=self.id,
                member_id=member_id,
                kind=kind,
            )
        )

    def remove_member(self, member_id: str) -> None:
        self._require_member(member_id)
        self._record(c.CouncilMemberRemoved(council_id=self.id, member_id=member_id))

    def hold_meeting(
        self,
        meeting_id: str,
        *,
        held_on: date,
        attendees: int,
        agenda: list[str],
        today: date,
    ) -> None:
        """Record a meeting that took place (not one still to come)."""
        if held_on > today:
            raise MeetingNotHeldYet(f"held_on {held_on} is after today ({today})")
        self._record(
            CouncilMeetingHeld(
                council_id=self.id,
                meeting_id=meeting_id,
                held_on=held_on,
                attendees=attendees,
                agenda_items=len(agenda),
                agenda=agenda,
            )
        )

    def recommend(
        self,
        recommendation_id: str,
        *,
        meeting_id: str,
        title: str,
        made_by: str,
        at: datetime,
    ) -> None:
        if meeting_id not in self.meetings:
            raise UnknownMeeting(f"no meeting {meeting_id} in this council")
        self._require_member(made_by)
        self._record(
            c.RecommendationMade(
                council_id=self.id,
                recommendation_id=recommendation_id,
                meeting_id=meeting_id,
                title=title,
                made_by=made_by,
                made_at=at,
            )
        )

    def accept(
        self,
        recommendation_id: str,
        *,
        by: str,
        overseer: bool,
        at: datetime,
        rationale: str | None = None,
    ) -> None:
        self._open_for_decision(recommendation_id, by, overseer)
        self._record(
            RecommendationAccepted(
                council_id=self.id,
                recommendation_id=recommendation_id,
                accepted_by=by,
                at=at,
                rationale=(rationale or "").strip() or None,
            )
        )

    def reject(
        self,
        recommendation_id: str,
        *,
        by: str,
        overseer: bool,
        at: datetime,
        rationale: str | None,
    ) -> None:
        if rationale is None or not rationale.strip():
            raise RationaleRequired("say why the recommendation is rejected")
        self._open_for_decision(recommendation_id, by, overseer)
        self._record(
            RecommendationRejected(
                council_id=self.id,
                recommendation_id=recommendation_id,
                rejected_by=by,
                at=at,
                rationale=rationale.strip(),
            )
        )

    def implement(
        self, recommendation_id: str, *, by: str, overseer: bool, at: datetime
    ) -> None:
        rec = self.recommendation(recommendation_id)
        self._require_decider(by, overseer)
        if rec.status != ACCEPTED:
            raise NotAccepted(f"the recommendation is {rec.status}")
        self._record(
            c.RecommendationImplemented(
                council_id=self.id,
                recommendation_id=recommendation_id,
                implemented_by=by,
                at=at,
            )
        )

    # -- rules ------------------------------------------------------------------------

    def recommendation(self, recommendation_id: str) -> Recommendation:
        try:
            return self.recommendations[recommendation_id]
        except KeyError:
            raise UnknownRecommendation(
                f"no recommendation {recommendation_id}"
            ) from None

    def _require_member(self, member_id: str) -> None:
        if member_id not in self.members:
            raise NotAMember(f"{member_id} is not a member of this council")

    def _require_decider(self, by: str, overseer: bool) -> None:
        if not overseer and self.members.get(by) != MemberKind.SPONSOR:
            raise DeciderNotEligible()

    def _open_for_decision(
        self, recommendation_id: str, by: str, overseer: bool
    ) -> None:
        rec = self.recommendation(recommendation_id)
        self._require_decider(by, overseer)
        if rec.status != OPEN:
            raise AlreadyDecided(f"the recommendation is already {rec.status}")

    def is_member(self, subject: str) -> bool:
        return subject in self.members

    @property
    def publishes_decisions(self) -> bool:
        return bool(self.charter and self.charter.publish_decisions)

    def next_meeting_due(self) -> date | None:
        if self.charter is None or not self.meetings:
            return None
        last = max(m.held_on for m in self.meetings.values())
        return last + timedelta(weeks=self.charter.cadence_weeks)

    # -- state ------------------------------------------------------------------------

    def when_CouncilChartered(self, e: c.CouncilChartered) -> None:
        self.charter = e

    def when_CouncilMemberAdded(self, e: c.CouncilMemberAdded) -> None:
        self.members[e.member_id] = e.kind

    def when_CouncilMemberRemoved(self, e: c.CouncilMemberRemoved) -> None:
        self.members.pop(e.member_id, None)

    def when_CouncilMeetingHeld(self, e: CouncilMeetingHeld) -> None:
        self.meetings[e.meeting_id] = e

    def when_RecommendationMade(self, e: c.RecommendationMade) -> None:
        self.recommendations[e.recommendation_id] = Recommendation(e)

    def when_RecommendationAccepted(self, e: RecommendationAccepted) -> None:
        rec = self.recommendations[e.recommendation_id]
        rec.status, rec.decided_by, rec.decided_at = ACCEPTED, e.accepted_by, e.at
        rec.rationale = e.rationale

    def when_RecommendationRejected(self, e: RecommendationRejected) -> None:
        rec = self.recommendations[e.recommendation_id]
        rec.status, rec.decided_by, rec.decided_at = REJECTED, e.rejected_by, e.at
        rec.rationale = e.rationale

    def when_RecommendationImplemented(self, e: c.RecommendationImplemented) -> None:
        rec = self.recommendations[e.recommendation_id]
        rec.status, rec.implemented_at = IMPLEMENTED, e.at
