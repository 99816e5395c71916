"""An external advisor: proposed, put through due diligence, approved (or rejected),
contracted, active, offboarded; suspended when a required check lapses; erasable.

The stream id is the advisor id, so the advisor's personal fields (the stored
proposal's name, email, organisation and bio, and the contract's own: the expertise
sought, the approved profile's industries, markets, functions led and crises) are
encrypted with their own key and erasure shreds them; a shredded list reads as empty.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import field_validator

from chassis.aggregate import Aggregate
from chassis.errors import DomainError, PersonGone
from contracts.advisors import lifecycle as c
from contracts.advisors.lifecycle import AdvisorStatus, CheckBlocker, CheckStatus
from contracts.api.advisors import ExpertiseProfile
from services.advisors.domain.diligence import (
    CONFLICT_CHECK,
    ApprovalBlocked,
    Check,
    CheckSpec,
    ConflictsDeclared,
    DiligenceCheckRecorded,
    DiligenceStarted,
    UnknownCheck,
    blockers,
    restricted_matches,
)
from services.advisors.domain.events import registry

ADVISOR_PII = ("name", "email", "organisation", "bio")
APPROVED_STATES = (
    AdvisorStatus.APPROVED,
    AdvisorStatus.CONTRACTED,
    AdvisorStatus.ACTIVE,
)
# The approved profile as stored and answered: decoded JSON of ``AdvisorApproved``.
JsonObject = dict[str, object]


def _shredded_as_empty(value: object) -> object:
    """An erased advisor's list reads as empty (its ciphertext no longer opens)."""
    return [] if value is None else value


@registry.override
class AdvisorProposed(c.AdvisorProposed):
    personal_fields: ClassVar[tuple[str, ...]] = (
        *c.AdvisorProposed.personal_fields,
        *ADVISOR_PII,
    )
    person_id: str | None = None
    name: str | None = None
    email: str | None = None
    organisation: str | None = None
    bio: str | None = None
    _lists = field_validator("expertise_sought", mode="before")(_shredded_as_empty)


@registry.override
class AdvisorApproved(c.AdvisorApproved):
    _lists = field_validator(*c.AdvisorApproved.personal_fields, mode="before")(
        _shredded_as_empty
    )


class WrongStatus(DomainError):
    code = "AdvisorStatusConflict"
    status = 409
    title = "Not possible in the advisor's current status"


class Advisor(Aggregate):
    def __init__(self, id: str, tenant: str) -> None:
        super().__init__(id, tenant)
        self.initial_state()

    def initial_state(self) -> None:
        self.status = AdvisorStatus.NEW
        self.expertise: list[str] = []
        self.person_id: str | None = None
        self.proposed_by: str | None = None
        self.personal: dict[str, str | None] = {}
        self.checks: dict[str, Check] = {}
        self.conflicts: dict[str, list[str] | None] = {}
        self.profile: JsonObject | None = None
        self.suspended_from: AdvisorStatus | None = None
        self.reason_code: str | None = None

    # -- commands ---------------------------------------------------------------------

    @classmethod
    def propose(
        cls,
        advisor_id: str,
        tenant: str,
        *,
        proposed_by: str,
        expertise_sought: list[str],
        name: str,
        email: str,
        organisation: str | None = None,
        bio: str | None = None,
        person_id: str | None = None,
    ) -> Advisor:
        advisor = cls(advisor_id, tenant)
        advisor._record(
            AdvisorProposed(
                advisor_id=advisor_id,
                expertise_sought=expertise_sought,
                proposed_by=proposed_by,
                person_id=person_id,
                name=name,
                email=email,
                organisation=organisation,
                bio=bio,
            )
        )
        return advisor

    def start_diligence(self, checklist: list[CheckSpec]) -> None:
        self._require(AdvisorStatus.PROPOSED)
        self._record(DiligenceStarted(advisor_id=self.id, checks=checklist))

    def record_check(
        self,
        check: str,
        *,
        status: CheckStatus,
        today: date,
        evidence: str | None = None,
        owner: str | None = None,
        expires_on: date | None = None,
    ) -> None:
        self._require(
            AdvisorStatus.DUE_DILIGENCE, AdvisorStatus.SUSPENDED, *APPROVED_STATES
        )
        if check not in self.checks:
            raise UnknownCheck(f"{check} is not on this advisor's checklist")
        if (
            status == CheckStatus.PASSED
            and expires_on is not None
            and expires_on < today
        ):
            raise DomainError("a check cannot pass with an expiry in the past")
        if (
            status == CheckStatus.PASSED
            and check == CONFLICT_CHECK
            and self._restricted_hit()
        ):
            raise DomainError(
                "declared organisations are restricted: the conflict check cannot pass"
            )
        self._record(
            DiligenceCheckRecorded(
                advisor_id=self.id,
                check=check,
                status=status,
                owner=owner or self.checks[check].owner,
                expires_on=expires_on,
                evidence=evidence,
            )
        )

    def declare_conflicts(
        self, restricted: list[str], **declared: list[str]
    ) -> list[str]:
        """Record the declaration; a restricted organisation fails the conflict check."""
        self._require(
            AdvisorStatus.DUE_DILIGENCE, AdvisorStatus.SUSPENDED, *APPROVED_STATES
        )
        every = [org for orgs in declared.values() for org in orgs]
        hits = restricted_matches(every, restricted)
        self._record(
            ConflictsDeclared(
                advisor_id=self.id, restricted_matches=len(hits), **declared
            )
        )
        if hits and CONFLICT_CHECK in self.checks:
            self._record(
                DiligenceCheckRecorded(
                    advisor_id=self.id,
                    check=CONFLICT_CHECK,
                    status=CheckStatus.FAILED,
                    owner="system",
                    reason_code="restricted_organisation",
                    evidence="restricted: " + ", ".join(hits),
                )
            )
        return hits

    def approve(self, profile: ExpertiseProfile, today: date) -> None:
        self._require(AdvisorStatus.DUE_DILIGENCE)
        self._refuse_unless_clear(today)
        self._record(AdvisorApproved(advisor_id=self.id, **profile.model_dump()))

    def reject(self, reason_code: str) -> None:
        self._require(AdvisorStatus.PROPOSED, AdvisorStatus.DUE_DILIGENCE)
        self._record(c.AdvisorRejected(advisor_id=self.id, reason_code=reason_code))

    def suspend(self, reason_code: str) -> None:
        self._require(*APPROVED_STATES)
        self._record(c.AdvisorSuspended(advisor_id=self.id, reason_code=reason_code))

    def sweep(self, today: date) -> bool:
        """Suspend an approved advisor whose required check has expired."""
        if self.status not in APPROVED_STATES:
            return False
        expired = [
            b
            for b in blockers(self.checks, today)
            if b["state"] == CheckBlocker.EXPIRED
        ]
        if not expired:
            return False
        self.suspend("check_expired")
        return True

    def reinstate(self, today: date) -> None:
        self._require(AdvisorStatus.SUSPENDED)
        self._refuse_unless_clear(today)
        self._record(c.AdvisorReinstated(advisor_id=self.id))

    def mark_contracted(self) -> None:
        self._require(AdvisorStatus.APPROVED)
        self._record(c.AdvisorContracted(advisor_id=self.id))

    def activate(self) -> None:
        self._require(AdvisorStatus.APPROVED, AdvisorStatus.CONTRACTED)
        self._record(c.AdvisorActivated(advisor_id=self.id))

    def offboard(self) -> None:
        self._require(AdvisorStatus.SUSPENDED, *APPROVED_STATES)
        self._record(c.AdvisorOffboarded(advisor_id=self.id))

    def erase(self) -> None:
        if self.status == AdvisorStatus.ERASED:
            raise PersonGone(f"advisor {self.id} was erased")
        self._record(c.AdvisorErased(advisor_id=self.id))

    # -- rules ------------------------------------------------------------------------

    def _require(self, *states: AdvisorStatus) -> None:
        if self.status == AdvisorStatus.ERASED:
            raise PersonGone(f"advisor {self.id} was erased")
        if self.status not in states:
            raise WrongStatus(
                f"the advisor is {self.status}; this needs {' or '.join(states)}",
                current_status=self.status,
            )

    def _refuse_unless_clear(self, today: date) -> None:
        found = blockers(self.checks, today)
        if found:
            raise ApprovalBlocked(found)

    def _restricted_hit(self) -> bool:
        check = self.checks.get(CONFLICT_CHECK)
        return check is not None and check.reason_code == "restricted_organisation"

    # -- state ------------------------------------------------------------------------

    def when_AdvisorProposed(self, e: AdvisorProposed) -> None:
        self.status = AdvisorStatus.PROPOSED
        self.expertise = list(e.expertise_sought)
        self.proposed_by = e.proposed_by
        self.person_id = e.person_id
        self.personal = {f: getattr(e, f) for f in ADVISOR_PII}

    def when_DiligenceStarted(self, e: DiligenceStarted) -> None:
        self.status = AdvisorStatus.DUE_DILIGENCE
        self.checks = {
            s.name: Check(name=s.name, required=s.required, owner=s.owner)
            for s in e.checks
        }

    def when_DiligenceCheckRecorded(self, e: DiligenceCheckRecorded) -> None:
        self.checks[e.check] = Check(
            name=e.check,
            required=self.checks[e.check].required,
            owner=e.owner,
            status=e.status,
            evidence=e.evidence,
            expires_on=e.expires_on,
            reason_code=e.reason_code,
        )

    def when_ConflictsDeclared(self, e: ConflictsDeclared) -> None:
        self.conflicts = {
            k: getattr(e, k)
            for k in ("employers", "board_seats", "competitors", "vendors")
        }
        if not e.restricted_matches:
            check = self.checks.get(CONFLICT_CHECK)
            if check is not None and check.reason_code == "restricted_organisation":
                check.status, check.reason_code = CheckStatus.OPEN, None

    def when_AdvisorApproved(self, e: c.AdvisorApproved) -> None:
        self.status = AdvisorStatus.APPROVED
        self.profile = e.model_dump(mode="json", exclude={"advisor_id"})

    def when_AdvisorRejected(self, e: c.AdvisorRejected) -> None:
        self.status, self.reason_code = AdvisorStatus.REJECTED, e.reason_code

    def when_AdvisorSuspended(self, e: c.AdvisorSuspended) -> None:
        self.suspended_from, self.status = self.status, AdvisorStatus.SUSPENDED
        self.reason_code = e.reason_code

    def when_AdvisorReinstated(self, e: c.AdvisorReinstated) -> None:
        self.status = self.suspended_from or AdvisorStatus.APPROVED
        self.reason_code = None

    def when_AdvisorContracted(self, e: c.AdvisorContracted) -> None:
        self.status = AdvisorStatus.CONTRACTED

    def when_AdvisorActivated(self, e: c.AdvisorActivated) -> None:
        self.status = AdvisorStatus.ACTIVE

    def when_AdvisorOffboarded(self, e: c.AdvisorOffboarded) -> None:
        self.status = AdvisorStatus.OFFBOARDED

    def when_AdvisorErased(self, e: c.AdvisorErased) -> None:
        self.status = AdvisorStatus.ERASED
        self.personal = {f: None for f in ADVISOR_PII}
        self.expertise, self.profile = [], None
        self.conflicts = {}
        for check in self.checks.values():
            check.evidence = None
