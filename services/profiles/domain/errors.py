"""Business-rule errors of the profiles service."""

from __future__ import annotations

from chassis import errors
from chassis.errors import Conflict, DomainError


class NotEligible(DomainError):
    code = "NotEligible"
    title = "Not eligible"

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons), reasons=reasons)
        self.reasons = reasons


class UnknownCompetency(DomainError):
    code = "UnknownCompetency"
    title = "Unknown competency"

    def __init__(self, competency_ids: list[str]) -> None:
        super().__init__(
            "not in the tenant's competency framework: " + ", ".join(competency_ids),
            competency_ids=competency_ids,
        )


class CapacityBelowLoad(DomainError):
    code = "CapacityBelowLoad"
    title = "Capacity below current load"

    def __init__(self, what: str, capacity: int, load: int) -> None:
        super().__init__(
            f"{what} capacity {capacity} is below its current load of {load}",
            capacity=capacity,
            load=load,
        )


class ConsentRequired(DomainError):
    code = "ConsentRequired"
    title = "Consent required"


class AlreadyParticipating(Conflict):
    code = "AlreadyParticipating"
    title = "Already in this cohort"


PersonGone = errors.PersonGone  # the chassis's, shared with the advisors service


class InvalidTransition(DomainError):
    code = "InvalidTransition"
    title = "Not allowed in the current state"
