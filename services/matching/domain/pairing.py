"""A proposed pair's life: proposed → approved → accepted by both → confirmed → ended.

Either person may decline before confirmation (the slot is freed); a coordinator may
withdraw a proposal (an override or a re-run); a proposal not confirmed by its expiry
time expires. Each step is an event other services can react to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from chassis.aggregate import Aggregate
from chassis.errors import DomainError, FieldError, Forbidden, ValidationFailed
from contracts import matching as m
from contracts.matching import PairingState, ReasonCode, RequestedBy
from contracts.profiles import ProgrammeType

OPEN = (PairingState.PROPOSED, PairingState.APPROVED)
LIVE = (*OPEN, PairingState.CONFIRMED)  # states that hold the mentor's seat
# How far ahead a coordinator may set a relationship's start on approval.
LATEST_START = timedelta(days=366)


class InvalidTransition(DomainError):
    code = "InvalidTransition"
    title = "Not allowed in the pairing's current state"


class ProposalExpired(DomainError):
    code = "ProposalExpired"
    title = "The proposal has expired"


class NotAParty(Forbidden):
    code = "NotAParty"
    title = "Only the two people of a pairing can answer it"


@dataclass(frozen=True)
class PastPairing:
    """A pairing as the programme's history tells it (``Pairing.recorded``)."""

    pairing_id: str
    cohort_id: str
    mentor_id: str
    mentee_id: str
    programme_type: ProgrammeType
    approved_on: date
    starts_on: date
    ended_on: date | None = None
    end_reason: ReasonCode | None = None


class Pairing(Aggregate):
    def initial_state(self) -> None:
        self.proposal: m.PairingProposed | None = None
        self.state: PairingState | None = None  # None: not proposed yet
        self.accepted_by: set[str] = set()
        self.closed_reason: ReasonCode | None = None
        self.starts_on: date | None = None  # set on approval

    @classmethod
    def propose(cls, tenant: str, proposal: m.PairingProposed) -> Pairing:
        if proposal.mentor_id == proposal.mentee_id:
            raise InvalidTransition("a person cannot be paired with themself")
        pairing = cls(proposal.pairing_id, tenant)
        pairing.initial_state()
        pairing._record(proposal)
        return pairing

    @property
    def mentor_id(self) -> str:
        assert self.proposal is not None
        return self.proposal.mentor_id

    @property
    def mentee_id(self) -> str:
        assert self.proposal is not None
        return self.proposal.mentee_id

    @property
    def is_open(self) -> bool:
        return self.state in OPEN

    @property
    def is_live(self) -> bool:
        """Holds a seat of the mentor's: proposed, approved or confirmed."""
        return self.state in LIVE

    def is_due(self, now: datetime) -> bool:
        assert self.proposal is not None
        return self.is_open and now >= self.proposal.expires_at

    def _require(self, *states: PairingState) -> None:
        if self.state not in states:
            raise InvalidTransition(
                f"pairing {self.id} is {self.state}; this needs it {' or '.join(states)}"
            )

    def _check_expiry(self, now: datetime) -> None:
        if self.is_due(now):
            assert self.proposal is not None
            raise ProposalExpired(
                f"pairing {self.id} expired at {self.proposal.expires_at}"
            )

    def approve(self, now: datetime, starts_on: date | None = None) -> None:
        """The coordinator accepts the proposal; both people are asked next.

        ``starts_on`` is the day the relationship starts, carried by
        ``PairingConfirmed`` once both have accepted. A past day is allowed (a
        programme brought over from last year records when its pairs really
        started); a day more than a year after ``now`` is refused
        (``ValidationFailed`` naming ``starts_on``). None: it starts when
        confirmed."""
        self._require(PairingState.PROPOSED)
        self._check_expiry(now)
        if starts_on is not None and starts_on > now.date() + LATEST_START:
            raise ValidationFailed(
                [
                    FieldError(
                        "starts_on",
                        "must not be more than a year ahead "
                        f"(latest {(now.date() + LATEST_START).isoformat()})",
                    )
                ]
            )
        self._record(
            m.PairingApproved(
                pairing_id=self.id,
                mentor_id=self.mentor_id,
                mentee_id=self.mentee_id,
                starts_on=starts_on,
            )
        )

    def accept(self, person_id: str, now: datetime) -> None:
        """One person says yes; when both have, the pairing is confirmed."""
        self._party(person_id)
        self._require(PairingState.APPROVED)
        self._check_expiry(now)
        if person_id in self.accepted_by:
            return
        self._record(m.PairingAccepted(pairing_id=self.id, person_id=person_id))
        if self.accepted_by == {self.mentor_id, self.mentee_id}:
            assert self.proposal is not None
            self._record(
                m.PairingConfirmed(
                    pairing_id=self.id,
                    mentor_id=self.mentor_id,
                    mentee_id=self.mentee_id,
                    cohort_id=self.proposal.cohort_id,
                    programme_type=self.proposal.programme_type,
                    score=self.proposal.score,
                    starts_on=self.starts_on,
                )
            )

    def decline(self, person_id: str, reason: ReasonCode | None = None) -> None:
        self._party(person_id)
        self._require(*OPEN)
        self._record(
            m.PairingDeclined(pairing_id=self.id, person_id=person_id, reason=reason)
        )

    def withdraw(self, reason: ReasonCode) -> None:
        self._require(*OPEN)
        self._record(m.PairingWithdrawn(pairing_id=self.id, reason=reason))

    def expire(self, now: datetime) -> bool:
        """Expire the proposal if its time has come; True when it did."""
        if not self.is_due(now):
            return False
        self._record(m.PairingExpired(pairing_id=self.id))
        return True

    def end(
        self, reason: ReasonCode = ReasonCode.CONCLUDED, ended_on: date | None = None
    ) -> None:
        """``ended_on``: the day it really ended, when not today (history)."""
        self._require(PairingState.CONFIRMED)
        self._record(
            m.PairingEnded(
                pairing_id=self.id,
                mentor_id=self.mentor_id,
                mentee_id=self.mentee_id,
                reason=reason,
                ended_on=ended_on,
            )
        )

    @classmethod
    def recorded(cls, tenant: str, past: PastPairing, today: date) -> Pairing:
        """A pairing of the programme's past, recorded with the events a live one
        records, dated: proposed, approved and accepted by both on ``approved_on``,
        confirmed to start on ``starts_on`` and, when ``ended_on`` is given, ended
        that day. It has no match score (it was never scored).

        Refused, with a ``ValidationFailed`` naming the field and nothing recorded:
        a person paired with themself, a day after ``today``, a start before the
        approval, an end before the start, an end reason without an end."""
        problems = []
        if past.mentee_id == past.mentor_id:
            problems.append(FieldError("mentee_id", "the same person as the mentor"))
        days = (
            ("approved_on", past.approved_on),
            ("starts_on", past.starts_on),
            ("ended_on", past.ended_on),
        )
        problems += [
            FieldError(name, "must not be in the future")
            for name, day in days
            if day is not None and day > today
        ]
        if past.starts_on < past.approved_on:
            problems.append(FieldError("starts_on", "before approved_on"))
        if past.ended_on is not None and past.ended_on < past.starts_on:
            problems.append(FieldError("ended_on", "before starts_on"))
        if past.end_reason is not None and past.ended_on is None:
            problems.append(FieldError("end_reason", "given without ended_on"))
        if problems:
            raise ValidationFailed(problems)
        at = datetime.combine(past.approved_on, time(), UTC)
        pairing = cls.propose(
            tenant,
            m.PairingProposed(
                pairing_id=past.pairing_id,
                cohort_id=past.cohort_id,
                mentor_id=past.mentor_id,
                mentee_id=past.mentee_id,
                programme_type=past.programme_type,
                score=None,
                expires_at=at + timedelta(days=1),
            ),
        )
        pairing.approve(at, past.starts_on)
        pairing.accept(past.mentee_id, at)
        pairing.accept(past.mentor_id, at)
        if past.ended_on is not None:
            pairing.end(past.end_reason or ReasonCode.CONCLUDED, past.ended_on)
        return pairing

    def request_repairing(self, reason: ReasonCode, requested_by: RequestedBy) -> None:
        """A running pair that is not working asks for a new mentor; it runs on
        until the replacement is confirmed, then ends as rematched."""
        self._require(PairingState.CONFIRMED)
        self._record(
            m.RepairingRequested(
                pairing_id=self.id,
                mentee_id=self.mentee_id,
                reason=reason,
                requested_by=requested_by,
            )
        )

    def _party(self, person_id: str) -> None:
        if person_id not in (self.mentor_id, self.mentee_id):
            raise NotAParty(f"{person_id} is not part of pairing {self.id}")

    # -- state changes --------------------------------------------------------------

    def when_PairingProposed(self, e: m.PairingProposed) -> None:
        self.proposal = e
        self.state = PairingState.PROPOSED

    def when_PairingApproved(self, e: m.PairingApproved) -> None:
        self.state = PairingState.APPROVED
        self.starts_on = e.starts_on

    def when_PairingAccepted(self, e: m.PairingAccepted) -> None:
        self.accepted_by.add(e.person_id)

    def when_PairingConfirmed(self, _e: m.PairingConfirmed) -> None:
        self.state = PairingState.CONFIRMED

    def when_PairingDeclined(self, e: m.PairingDeclined) -> None:
        self.state = PairingState.DECLINED
        self.closed_reason = e.reason

    def when_PairingWithdrawn(self, e: m.PairingWithdrawn) -> None:
        self.state = PairingState.WITHDRAWN
        self.closed_reason = e.reason

    def when_PairingExpired(self, _e: m.PairingExpired) -> None:
        self.state = PairingState.EXPIRED

    def when_PairingEnded(self, e: m.PairingEnded) -> None:
        self.state = PairingState.ENDED
        self.closed_reason = e.reason
