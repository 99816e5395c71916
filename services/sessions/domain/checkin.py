"""Accountability around a relationship: monthly alignment checks and quarterly
reviews with the sponsor (mid-course corrections recorded), and escalations either
side raises to the coordinator, which may end in re-pairing."""

from __future__ import annotations

from datetime import date

from chassis.aggregate import Aggregate
from chassis.errors import DomainError, Forbidden
from contracts.sessions import development as d
from contracts.sessions.notes import PartyRole
from services.sessions.domain.events import registry
from services.sessions.domain.relationship import require_not_before

OPEN, RESOLVED = "open", "resolved"


@registry.override
class CheckInRecorded(d.CheckInRecorded):
    correction_text_id: str | None = None


@registry.override
class EscalationRaised(d.EscalationRaised):
    raised_by: str
    detail_text_id: str | None = None


@registry.override
class EscalationResolved(d.EscalationResolved):
    note_text_id: str | None = None


class SponsorRequired(DomainError):
    code = "SponsorRequired"
    title = "A quarterly review involves the sponsor"


class AlignmentOutOfRange(DomainError):
    code = "AlignmentOutOfRange"
    title = "Alignment is rated from 1 to 5"


class NotCoordinator(Forbidden):
    code = "NotCoordinator"
    title = "Only a coordinator resolves an escalation"


class EscalationClosed(DomainError):
    code = "EscalationClosed"
    title = "The escalation is already resolved"


class NotHeldYet(DomainError):
    code = "NotHeldYet"
    title = "A check-in is recorded once it has been held"


class CheckIn(Aggregate):
    def initial_state(self) -> None:
        self.recorded: CheckInRecorded | None = None

    @classmethod
    def record(
        cls,
        check_in_id: str,
        tenant: str,
        *,
        relationship_id: str,
        kind: d.CheckInKind,
        held_on: date,
        sponsor_id: str | None,
        alignment: int,
        correction_text_id: str | None,
        today: date,
        started_on: date,
    ) -> CheckIn:
        """A check that took place: ``held_on`` (its effective date) is not after
        ``today`` (UTC) and not before the relationship started (``started_on``)."""
        if held_on > today:
            raise NotHeldYet(
                f"held_on {held_on} is after today ({today})", field="held_on"
            )
        require_not_before(held_on, started_on, "a check-in held", "held_on")
        if kind == "quarterly" and not sponsor_id:
            raise SponsorRequired("name the sponsor who took part in the review")
        if not 1 <= alignment <= 5:
            raise AlignmentOutOfRange(f"alignment {alignment} is not within 1..5")
        check_in = cls(check_in_id, tenant)
        check_in.initial_state()
        check_in._record(
            CheckInRecorded(
                check_in_id=check_in_id,
                relationship_id=relationship_id,
                kind=kind,
                held_on=held_on,
                sponsor_id=sponsor_id,
                alignment=alignment,
                correction_recorded=correction_text_id is not None,
                correction_text_id=correction_text_id,
            )
        )
        return check_in

    def when_CheckInRecorded(self, e: CheckInRecorded) -> None:
        self.recorded = e


class Escalation(Aggregate):
    def initial_state(self) -> None:
        self.raised: EscalationRaised | None = None
        self.state = OPEN

    @classmethod
    def raise_concern(
        cls,
        escalation_id: str,
        tenant: str,
        *,
        relationship_id: str,
        by: str,
        mentor_id: str,
        mentee_id: str,
        category: d.EscalationCategory,
        detail_text_id: str | None,
    ) -> Escalation:
        """Either side of the relationship may raise a concern."""
        if by == mentor_id:
            role = PartyRole.MENTOR
        elif by == mentee_id:
            role = PartyRole.MENTEE
        else:
            raise Forbidden("only the mentor or the mentee raises an escalation")
        escalation = cls(escalation_id, tenant)
        escalation.initial_state()
        escalation._record(
            EscalationRaised(
                escalation_id=escalation_id,
                relationship_id=relationship_id,
                by_role=role,
                category=category,
                raised_by=by,
                detail_text_id=detail_text_id,
            )
        )
        return escalation

    @property
    def relationship_id(self) -> str:
        assert self.raised is not None
        return self.raised.relationship_id

    def resolve(
        self,
        by: str,
        *,
        is_coordinator: bool,
        outcome: d.EscalationOutcome,
        note_text_id: str | None,
    ) -> None:
        if not is_coordinator:
            raise NotCoordinator("a coordinator resolves escalations")
        if self.state != OPEN:
            raise EscalationClosed(f"escalation {self.id} is resolved")
        self._record(
            EscalationResolved(
                escalation_id=self.id,
                relationship_id=self.relationship_id,
                outcome=outcome,
                resolved_by=by,
                note_text_id=note_text_id,
            )
        )

    def when_EscalationRaised(self, e: EscalationRaised) -> None:
        self.raised = e

    def when_EscalationResolved(self, _e: EscalationResolved) -> None:
        self.state = RESOLVED
