"""Programme operations, as pure functions of the people view and a few facts.

- participation: registered people (eligible population) vs people taking part as
  mentees (``equity.joined_at``); per cohort: admitted mentees vs seats (capacity).
- waiting list: people waitlisted in a cohort and neither admitted nor withdrawn
  since; length, and age in days (mean and oldest) at ``as_of``.
- mentor utilisation: active confirmed pairings as mentor ÷ ``max_mentees``, summed
  over mentors who declared a capacity.
- advisor hours: hours logged per agreement against ``hours_per_month`` times the months
  the agreement has run (started months, up to ``as_of`` or its end).
- pulse surveys: the aggregates published on close (already k-suppressed upstream).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TypedDict

from chassis.events import JsonDict
from services.insights.domain import stats
from services.insights.domain.equity import Row, joined_at

FACT_TYPES = (
    "CohortCreated",
    "CohortCapacityChanged",
    "AgreementSigned",
    "AgreementRenewed",
    "HoursLogged",
    "PulseSurveyClosed",
)


class CohortFill(TypedDict):
    cohort_id: str
    admitted: int
    capacity: int | None
    fill_rate: float | None


class Participation(TypedDict):
    eligible: int
    participants: int
    rate: float | None
    cohorts: list[CohortFill]


class WaitingList(TypedDict):
    length: int
    mean_age_days: float | None
    oldest_age_days: int | None


class Utilisation(TypedDict):
    mentors: int
    capacity: int
    active_pairings: int
    rate: float | None
    over_capacity: int


class AdvisorHours(TypedDict):
    agreement_id: str
    advisor_id: str
    hours_logged: float
    hours_contracted: float
    usage: float | None


class Report(TypedDict):
    """The programme operations report."""

    as_of: str
    participation: Participation
    waiting_list: WaitingList
    mentor_utilisation: Utilisation
    advisor_hours: list[AdvisorHours]
    pulse_surveys: list[JsonDict]  # the PulseSurveyClosed data, as published


@dataclass
class _Agreement:
    advisor_id: str
    starts_on: date
    ends_on: date
    hours_per_month: float
    minutes: int = 0


def _months(start: date, end: date) -> int:
    """Months started from ``start`` to ``end`` inclusive (0 before the start)."""
    if end < start:
        return 0
    return (end.year - start.year) * 12 + end.month - start.month + 1


def operations_report(
    rows: list[Row], facts: list[tuple[str, JsonDict, str]], as_of: date
) -> Report:
    """The operations report; ``facts``: (type, data, ISO time) of ``FACT_TYPES``."""
    registered = [r for r in rows if "business_unit" in r]
    participants = sum(joined_at(r, None) is not None for r in registered)
    capacities: dict[str, int | None] = {}
    agreements: dict[str, _Agreement] = {}
    surveys = []
    for kind, data, _at in facts:
        if kind in ("CohortCreated", "CohortCapacityChanged"):
            capacities[data["cohort_id"]] = data["capacity"]
        elif kind == "AgreementSigned":
            agreements[data["agreement_id"]] = _Agreement(
                advisor_id=data["advisor_id"],
                starts_on=date.fromisoformat(str(data["starts_on"])),
                ends_on=date.fromisoformat(str(data["ends_on"])),
                hours_per_month=data["hours_per_month"],
            )
        elif kind == "AgreementRenewed" and data["agreement_id"] in agreements:
            ends = date.fromisoformat(str(data["ends_on"]))
            agreements[data["agreement_id"]].ends_on = ends
        elif kind == "HoursLogged" and data["agreement_id"] in agreements:
            agreements[data["agreement_id"]].minutes += int(data["minutes"])
        elif kind == "PulseSurveyClosed":
            surveys.append(data)
    return {
        "as_of": as_of.isoformat(),
        "participation": {
            "eligible": len(registered),
            "participants": participants,
            "rate": stats.rate(participants, len(registered)),
            "cohorts": _cohorts(rows, capacities),
        },
        "waiting_list": _waiting(rows, as_of),
        "mentor_utilisation": _utilisation(rows),
        "advisor_hours": _hours(agreements, as_of),
        "pulse_surveys": surveys,
    }


def _cohorts(rows: list[Row], capacities: dict[str, int | None]) -> list[CohortFill]:
    admitted: dict[str, int] = {}
    for row in rows:
        for cid, entry in row["cohorts"].items():
            active = entry.get("admitted_at") and not entry.get("withdrew_at")
            if active and entry.get("role") in (None, "mentee"):
                admitted[cid] = admitted.get(cid, 0) + 1
    out: list[CohortFill] = []
    for cid in sorted(set(capacities) | set(admitted)):
        capacity = capacities.get(cid)
        out.append(
            {
                "cohort_id": cid,
                "admitted": admitted.get(cid, 0),
                "capacity": capacity,
                "fill_rate": stats.rate(admitted.get(cid, 0), capacity or 0),
            }
        )
    return out


def _waiting(rows: list[Row], as_of: date) -> WaitingList:
    ages = []
    for row in rows:
        for entry in row["cohorts"].values():
            since = entry.get("waitlisted_at")
            later = [entry.get("admitted_at"), entry.get("withdrew_at")]
            if since and not any(s and s >= since for s in later):
                ages.append((as_of - datetime.fromisoformat(since).date()).days)
    return {
        "length": len(ages),
        "mean_age_days": stats.mean(ages),
        "oldest_age_days": max(ages, default=None),
    }


def _utilisation(rows: list[Row]) -> Utilisation:
    declared = [(r, r.get("max_mentees") or 0) for r in rows]
    mentors = [(r, most) for r, most in declared if most]
    capacity = sum(most for _r, most in mentors)
    active = sum(len(r["mentoring"]) for r, _most in mentors)
    over = sum(len(r["mentoring"]) > most for r, most in mentors)
    return {
        "mentors": len(mentors),
        "capacity": capacity,
        "active_pairings": active,
        "rate": stats.rate(active, capacity),
        "over_capacity": over,
    }


def _hours(agreements: dict[str, _Agreement], as_of: date) -> list[AdvisorHours]:
    out: list[AdvisorHours] = []
    for aid, a in sorted(agreements.items()):
        months = _months(a.starts_on, min(as_of, a.ends_on))
        contracted = a.hours_per_month * months
        logged = a.minutes / 60
        out.append(
            {
                "agreement_id": aid,
                "advisor_id": a.advisor_id,
                "hours_logged": round(logged, 2),
                "hours_contracted": contracted,
                "usage": stats.rate(logged, contracted) if contracted else None,
            }
        )
    return out
