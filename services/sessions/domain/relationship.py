"""A mentoring relationship: started from a confirmed pairing, run under a learning
contract both people sign, paused, resumed and concluded."""

from __future__ import annotations

from datetime import date, timedelta

from chassis.aggregate import Aggregate
from chassis.errors import DomainError, Forbidden
from contracts.sessions import relationships as r
from services.sessions.domain import events as ev

ACTIVE, PAUSED, CONCLUDED = (
    r.RelationshipState.ACTIVE,
    r.RelationshipState.PAUSED,
    r.RelationshipState.CONCLUDED,
)


class InvalidTransition(DomainError):
    code = "InvalidTransition"
    title = "Not allowed in the relationship's current state"


class ContractNotInForce(DomainError):
    code = "ContractNotInForce"
    title = "The learning contract is not signed by both sides"


class BeforeRelationshipStarted(DomainError):
    code = "BeforeRelationshipStarted"
    title = "The date is before the relationship started"


class DateInFuture(DomainError):
    code = "DateInFuture"
    title = "A fact is recorded once it has happened, never ahead of time"


class AfterRelationshipEnded(DomainError):
    code = "AfterRelationshipEnded"
    title = "The date is after the relationship ended"


class BeforeResumption(DomainError):
    code = "BeforeResumption"
    title = "A pause cannot begin before the relationship last resumed"


class BeforePause(DomainError):
    code = "BeforePause"
    title = "A relationship cannot resume before its pause began"


class PauseEndsInPast(DomainError):
    code = "PauseEndsInPast"
    title = "A pause ends after today"


class NotAParty(Forbidden):
    code = "NotAParty"
    title = "Only the mentor and the mentee of this relationship may do this"


def require_not_before(
    day: date, starts_on: date, what: str, field: str | None = None
) -> None:
    """``what`` (dated ``day``) belongs to a relationship that started on
    ``starts_on``: it cannot be dated earlier. ``field`` names the input that
    carried the date (in the message and the problem's ``field``)."""
    if day < starts_on:
        said = f"{field} {day.isoformat()}" if field else f"{what} on {day}"
        raise BeforeRelationshipStarted(
            f"{said} is before the relationship started on {starts_on.isoformat()}"
            + (f" ({what})" if field else ""),
            starts_on=starts_on.isoformat(),
            **({"field": field} if field else {}),
        )


def require_not_after(day: date, today: date, field: str) -> None:
    """A fact dated ``day`` (input ``field``) has happened by ``today``."""
    if day > today:
        raise DateInFuture(
            f"{field} {day.isoformat()} is after today ({today.isoformat()})",
            field=field,
        )


def require_not_after_end(
    day: date, ended_on: date | None, what: str, field: str
) -> None:
    """``what`` (input ``field``, dated ``day``) belongs to a relationship that
    ended on ``ended_on`` (None: it has not, or its day is not known): it cannot be
    dated later."""
    if ended_on is not None and day > ended_on:
        raise AfterRelationshipEnded(
            f"{field} {day.isoformat()} is after the relationship ended on "
            f"{ended_on.isoformat()} ({what})",
            ended_on=ended_on.isoformat(),
            field=field,
        )


class Relationship(Aggregate):
    def initial_state(self) -> None:
        self.started: r.RelationshipStarted | None = None
        self.state = ACTIVE
        self.contract: ev.ContractDrafted | None = None
        self.signed_by: set[str] = set()
        self.in_force_version: int | None = None
        self.ended_on: date | None = None  # concluded on this day, when it says
        self.paused_on: date | None = None  # the last pause began, when it says
        self.resumed_on: date | None = None  # the last resumption, when it says

    @classmethod
    def start(
        cls,
        tenant: str,
        *,
        pairing_id: str,
        mentor_id: str,
        mentee_id: str,
        cohort_id: str | None,
        kind: str,
        starts_on: date,
        planned_months: int = 6,
        cycle_ends_on: date | None = None,
    ) -> Relationship:
        """One relationship per confirmed pairing (its id is the pairing's).

        It runs to the end of the cohort's development phase (the programme cycle, on
        the business calendar) when there is one, else ``planned_months``.
        """
        relationship = cls(pairing_id, tenant)
        relationship.initial_state()
        relationship._record(
            r.RelationshipStarted(
                relationship_id=pairing_id,
                pairing_id=pairing_id,
                mentor_id=mentor_id,
                mentee_id=mentee_id,
                cohort_id=cohort_id,
                kind=kind,
                starts_on=starts_on,
                planned_end_on=cycle_ends_on
                if cycle_ends_on and cycle_ends_on > starts_on
                else starts_on + timedelta(days=round(planned_months * 30.4)),
            )
        )
        return relationship

    @property
    def mentor_id(self) -> str:
        assert self.started is not None
        return self.started.mentor_id

    @property
    def mentee_id(self) -> str:
        assert self.started is not None
        return self.started.mentee_id

    @property
    def starts_on(self) -> date:
        assert self.started is not None
        return self.started.starts_on

    @property
    def parties(self) -> tuple[str, str]:
        return (self.mentor_id, self.mentee_id)

    @property
    def contract_in_force(self) -> bool:
        return (
            self.in_force_version is not None
            and self.contract is not None
            and (self.in_force_version == self.contract.version)
        )

    def require_party(self, person_id: str) -> None:
        if person_id not in self.parties:
            raise NotAParty(f"{person_id} is not part of relationship {self.id}")

    def require_contract(self) -> None:
        """Sessions are held only under a contract both people signed."""
        if not self.contract_in_force:
            raise ContractNotInForce(
                "both the mentor and the mentee must sign the learning contract first"
            )

    def require_open(self) -> None:
        if self.state == CONCLUDED:
            raise InvalidTransition(f"relationship {self.id} is concluded")

    def draft_contract(
        self,
        by: str,
        *,
        cadence: r.Cadence,
        hours_per_month: int,
        objectives: int,
        terms_text_id: str | None,
    ) -> None:
        """Either side proposes the contract (or a change); both must sign it again."""
        self.require_party(by)
        self.require_open()
        version = (self.contract.version + 1) if self.contract else 1
        self._record(
            ev.ContractDrafted(
                relationship_id=self.id,
                version=version,
                cadence=cadence,
                hours_per_month=hours_per_month,
                objectives=objectives,
                terms_text_id=terms_text_id,
            )
        )

    def record_contract(
        self,
        by: str,
        *,
        cadence: r.Cadence,
        hours_per_month: int,
        objectives: int,
        terms_text_id: str | None,
        signed_on: date,
        today: date,
    ) -> None:
        """A contract both people signed on ``signed_on``, recorded afterwards (a
        programme's history, ``by`` a coordinator): not after today, not before the
        relationship started, and only as its first contract. The relationship may
        have concluded since: the contract ran while it was live."""
        require_not_after(signed_on, today, "signed_on")
        require_not_before(signed_on, self.starts_on, "a contract signed", "signed_on")
        if self.contract is not None:
            raise InvalidTransition(
                f"relationship {self.id} already has a learning contract "
                f"(version {self.contract.version})",
                field="relationship_id",
            )
        self._record(
            ev.ContractDrafted(
                relationship_id=self.id,
                version=1,
                cadence=cadence,
                hours_per_month=hours_per_month,
                objectives=objectives,
                terms_text_id=terms_text_id,
            )
        )
        for person_id in self.parties:
            self._record(
                r.ContractSigned(
                    relationship_id=self.id, version=1, person_id=person_id
                )
            )
        self._record(
            r.ContractInForce(relationship_id=self.id, version=1, signed_on=signed_on)
        )

    def sign(self, person_id: str, version: int) -> None:
        self.require_party(person_id)
        self.require_open()
        if self.contract is None or version != self.contract.version:
            raise InvalidTransition(
                f"version {version} is not the current draft of the contract"
            )
        if person_id in self.signed_by:
            return
        self._record(
            r.ContractSigned(
                relationship_id=self.id, version=version, person_id=person_id
            )
        )
        if self.signed_by == set(self.parties):
            self._record(r.ContractInForce(relationship_id=self.id, version=version))

    def pause(
        self,
        until: date | None = None,
        *,
        today: date,
        paused_on: date | None = None,
    ) -> None:
        """Paused now (or since ``paused_on``, a pause told after the fact: not in
        the future, not before the relationship started nor before the last
        resumption), until a later day if one is given."""
        if self.state != ACTIVE:
            raise InvalidTransition(f"relationship {self.id} is {self.state}")
        if paused_on is not None:
            require_not_after(paused_on, today, "paused_on")
            require_not_before(paused_on, self.starts_on, "a pause", "paused_on")
            if self.resumed_on is not None and paused_on < self.resumed_on:
                raise BeforeResumption(
                    f"paused_on {paused_on.isoformat()} is before the relationship "
                    f"resumed on {self.resumed_on.isoformat()}",
                    field="paused_on",
                )
        if until is not None and until <= max(today, self.starts_on):
            raise PauseEndsInPast(
                f"a pause until {until.isoformat()} would be over already"
            )
        self._record(
            r.RelationshipPaused(
                relationship_id=self.id, until=until, paused_on=paused_on
            )
        )

    def resume(
        self, *, today: date | None = None, resumed_on: date | None = None
    ) -> None:
        """Meetings resume now (or since ``resumed_on``: not in the future, not
        before the pause began)."""
        if self.state != PAUSED:
            raise InvalidTransition(f"relationship {self.id} is {self.state}")
        if resumed_on is not None:
            require_not_after(resumed_on, today or resumed_on, "resumed_on")
            began = self.paused_on or self.starts_on
            if resumed_on < began:
                raise BeforePause(
                    f"resumed_on {resumed_on.isoformat()} is before the pause began "
                    f"on {began.isoformat()}",
                    field="resumed_on",
                )
        self._record(
            r.RelationshipResumed(relationship_id=self.id, resumed_on=resumed_on)
        )

    def conclude(
        self, reason: r.ConclusionReason, *, concluded_on: date | None = None
    ) -> None:
        """Concluded now, or (``concluded_on``, a relationship of the programme's
        history) on that day: never before it started."""
        self.require_open()
        if concluded_on is not None:
            concluded_on = max(concluded_on, self.starts_on)
        self._record(
            r.RelationshipConcluded(
                relationship_id=self.id, reason=reason, concluded_on=concluded_on
            )
        )

    # -- state ----------------------------------------------------------------------

    def when_RelationshipStarted(self, e: r.RelationshipStarted) -> None:
        self.started = e

    def when_ContractDrafted(self, e: ev.ContractDrafted) -> None:
        self.contract = e
        self.signed_by = set()

    def when_ContractSigned(self, e: r.ContractSigned) -> None:
        self.signed_by.add(e.person_id)

    def when_ContractInForce(self, e: r.ContractInForce) -> None:
        self.in_force_version = e.version

    def when_RelationshipPaused(self, e: r.RelationshipPaused) -> None:
        self.state = PAUSED
        self.paused_on = e.paused_on  # None: the day it was recorded, not kept here

    def when_RelationshipResumed(self, e: r.RelationshipResumed) -> None:
        self.state = ACTIVE
        self.resumed_on = e.resumed_on

    def when_RelationshipConcluded(self, e: r.RelationshipConcluded) -> None:
        self.state = CONCLUDED
        self.ended_on = e.concluded_on
