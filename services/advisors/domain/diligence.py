"""Due diligence: the tenant's checklist, its restricted organisations, and the rules
that say whether an advisor's checks let them be approved (or keep them active).

The diligence events stay inside the advisors service (they are not in the published
contracts): evidence and declared organisations are personal data, stored encrypted
with the advisor's key (``personal_fields``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from pydantic import Field

from chassis.aggregate import Aggregate
from chassis.errors import DomainError, FieldError, ValidationFailed
from chassis.events import EventPayload
from contracts.advisors.lifecycle import CheckBlocker, CheckStatus
from contracts.api.advisors import CheckSpec as CheckSpec  # checklists' one shape
from services.advisors.domain.events import registry

CONFLICT_CHECK = "conflict_of_interest"
DEFAULT_CHECKLIST = (
    "background",
    "conflict_of_interest",
    "confidentiality",
    "compliance",
)
CHECK_NAME = re.compile(r"^[a-z][a-z0-9_]{1,47}$")


def default_checklist() -> list[CheckSpec]:
    return [CheckSpec(name=n) for n in DEFAULT_CHECKLIST]


def normalise(organisation: str) -> str:
    """Organisation names compare without regard to case or spacing."""
    return re.sub(r"\s+", " ", organisation).strip().casefold()


def restricted_matches(declared: list[str], restricted: list[str]) -> list[str]:
    """The declared organisations that are on the restricted list."""
    banned = {normalise(r) for r in restricted}
    return sorted({d.strip() for d in declared if normalise(d) in banned})


@dataclass
class Check:
    """An advisor's check: who owns it, where it stands, until when it holds."""

    name: str
    required: bool = True
    owner: str | None = None
    status: CheckStatus = CheckStatus.OPEN
    evidence: str | None = None
    expires_on: date | None = None
    reason_code: str | None = None

    def blocker(self, today: date) -> CheckBlocker | None:
        """Why this check stops approval (open, failed, expired), or None."""
        if not self.required:
            return None
        if self.status != CheckStatus.PASSED:
            return CheckBlocker(self.status)
        if self.expires_on is not None and self.expires_on < today:
            return CheckBlocker.EXPIRED
        return None


def blockers(checks: dict[str, Check], today: date) -> list[dict[str, str]]:
    """Each required check that stops approval: ``{"check": name, "state": why}``
    (``why`` a ``CheckBlocker``)."""
    found = []
    for check in checks.values():
        why = check.blocker(today)
        if why is not None:
            found.append({"check": check.name, "state": why})
    return found


class ApprovalBlocked(DomainError):
    """Every required check must be passed and in date."""

    code = "ApprovalBlocked"
    title = "Required checks are not passed"

    def __init__(self, found: list[dict[str, str]]) -> None:
        named = ", ".join(f"{b['check']} ({b['state']})" for b in found)
        super().__init__(f"required checks are not passed: {named}", blockers=found)


class UnknownCheck(DomainError):
    code = "UnknownCheck"
    title = "No such check on this advisor's checklist"


def validate_checklist(checks: list[CheckSpec]) -> None:
    errors = [
        FieldError(f"checks.{i}.name", "lower-case letters, digits and _ only")
        for i, c in enumerate(checks)
        if not CHECK_NAME.match(c.name)
    ]
    names = [c.name for c in checks]
    if len(set(names)) != len(names):
        errors.append(FieldError("checks", "check names must be unique"))
    if not checks:
        errors.append(FieldError("checks", "at least one check"))
    if errors:
        raise ValidationFailed(errors)


# -- events kept inside the service ------------------------------------------------


@registry.register
class DiligenceStarted(EventPayload):
    advisor_id: str
    checks: list[CheckSpec]


@registry.register
class DiligenceCheckRecorded(EventPayload):
    personal_fields: ClassVar[tuple[str, ...]] = ("evidence",)
    advisor_id: str
    check: str
    status: CheckStatus
    owner: str | None = None
    expires_on: date | None = None
    reason_code: str | None = None
    evidence: str | None = None


@registry.register
class ConflictsDeclared(EventPayload):
    personal_fields: ClassVar[tuple[str, ...]] = (
        "employers",
        "board_seats",
        "competitors",
        "vendors",
    )
    advisor_id: str
    restricted_matches: int = 0
    employers: list[str] | None = None
    board_seats: list[str] | None = None
    competitors: list[str] | None = None
    vendors: list[str] | None = None


@registry.register
class DiligenceChecklistConfigured(EventPayload):
    checks: list[CheckSpec]


@registry.register
class RestrictedOrganisationsSet(EventPayload):
    organisations: list[str] = Field(default_factory=list)


class DiligencePolicy(Aggregate):
    """A tenant's checklist and restricted organisations (one stream per tenant)."""

    def initial_state(self) -> None:
        self.checklist: list[CheckSpec] = default_checklist()
        self.restricted: list[str] = []

    def __init__(self, id: str, tenant: str) -> None:
        super().__init__(id, tenant)
        self.initial_state()

    @staticmethod
    def stream_for(tenant: str) -> str:
        return f"advisor-policy-{tenant}"

    def configure_checklist(self, checks: list[CheckSpec]) -> None:
        validate_checklist(checks)
        self._record(DiligenceChecklistConfigured(checks=checks))

    def restrict(self, organisations: list[str]) -> None:
        cleaned = {normalise(o): o.strip() for o in organisations if o.strip()}
        self._record(RestrictedOrganisationsSet(organisations=sorted(cleaned.values())))

    def when_DiligenceChecklistConfigured(
        self, e: DiligenceChecklistConfigured
    ) -> None:
        self.checklist = list(e.checks)

    def when_RestrictedOrganisationsSet(self, e: RestrictedOrganisationsSet) -> None:
        self.restricted = list(e.organisations)
