"""Whether a person may join a cohort, and if not, every reason why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from contracts.profiles import EligibilityRules


@dataclass(frozen=True)
class Applicant:
    """The facts about a person that eligibility rules look at."""

    person_id: str
    level: int
    business_unit: str
    geography: str
    hire_date: date | None
    roles: tuple[str, ...]
    active: bool = True


def months_between(start: date, end: date) -> int:
    return (
        (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day)
    )


def reasons_not_eligible(
    rules: EligibilityRules, who: Applicant, today: date
) -> list[str]:
    """Every rule the applicant fails, in words they can act on (empty = eligible)."""
    reasons = []
    if not who.active:
        reasons.append("the person is not active")
    if rules.business_units and who.business_unit not in rules.business_units:
        reasons.append(
            f"business unit {who.business_unit} is not one of "
            + ", ".join(rules.business_units)
        )
    if rules.min_level is not None and who.level < rules.min_level:
        reasons.append(
            f"level {who.level} is below the minimum level {rules.min_level}"
        )
    if rules.max_level is not None and who.level > rules.max_level:
        reasons.append(
            f"level {who.level} is above the maximum level {rules.max_level}"
        )
    if rules.geographies and who.geography not in rules.geographies:
        reasons.append(
            f"geography {who.geography} is not one of " + ", ".join(rules.geographies)
        )
    if rules.min_tenure_months is not None:
        if who.hire_date is None:
            reasons.append("hire date unknown, so tenure cannot be checked")
        else:
            tenure = months_between(who.hire_date, today)
            if tenure < rules.min_tenure_months:
                reasons.append(
                    f"tenure of {tenure} months is below the minimum "
                    f"{rules.min_tenure_months}"
                )
    return reasons
