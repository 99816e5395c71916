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

from datetime import date, datetime
from typing import Any

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


def _months(start: date, end: date) -> int:
    """Months started from ``start`` to ``end`` inclusive (0 before the start)."""
    if end < start:
        return 0
    return (end.year - start.year) * 12 + end.month - start.month + 1


def operations_report(
    rows: list[Row], facts: list[tuple[str, dict[str, Any], str]], as_of: date
) -> dict[str, Any]:
    """The operations report; ``facts``: (type, data, ISO time) of ``FACT_TYPES``."""
    registered = [r for r in rows if "business_unit" in r]
    participants = sum(joined_at(r, None) is not None for r in registered)
    cohorts: dict[str, dict[str, Any]] = {}
    agreements: dict[str, dict[str, Any]] = {}
    surveys = []
    for kind, data, _at in facts:
        if kind in ("CohortCreated", "CohortCapacityChanged"):
            cohort = cohorts.setdefault(data["cohort_id"], {})
            cohort["capacity"] = data["capacity"]
            cohort.setdefault("name", data.get("name"))
        elif kind == "AgreementSigned":
            agreements[data["agreement_id"]] = {
                "advisor_id": data["advisor_id"],
                "starts_on": date.fromisoformat(str(data["starts_on"])),
                "ends_on": date.fromisoformat(str(data["ends_on"])),
                "hours_per_month": data["hours_per_month"],
                "minutes": 0,
            }
        elif kind == "AgreementRenewed" and data["agreement_id"] in agreements:
            ends = date.fromisoformat(str(data["ends_on"]))
            agreements[data["agreement_id"]]["ends_on"] = ends
        elif kind == "HoursLogged" and data["agreement_id"] in agreements:
            agreements[data["agreement_id"]]["minutes"] += int(data["minutes"])
        elif kind == "PulseSurveyClosed":
            surveys.append(data)
    return {
        "as_of": as_of.isoformat(),
        "participation": {
            "eligible": len(registered),
            "participants": participants,
            "rate": stats.rate(participants, len(registered)),
            "cohorts": _cohorts(rows, cohorts),
        },
        "waiting_list": _waiting(rows, as_of),
        "mentor_utilisation": _utilisation(rows),
        "advisor_hours": _hours(agreements, as_of),
        "pulse_surveys": surveys,
    }


def _cohorts(
    rows: list[Row], cohorts: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    admitted: dict[str, int] = {}
    for row in rows:
        for cid, entry in row["cohorts"].items():
            active = entry.get("admitted_at") and not entry.get("withdrew_at")
            if active and entry.get("role") in (None, "mentee"):
                admitted[cid] = admitted.get(cid, 0) + 1
    out = []
    for cid in sorted(set(cohorts) | set(admitted)):
        capacity = cohorts.get(cid, {}).get("capacity")
        out.append(
            {
                "cohort_id": cid,
                "admitted": admitted.get(cid, 0),
                "capacity": capacity,
                "fill_rate": stats.rate(admitted.get(cid, 0), capacity or 0),
            }
        )
    return out


def _waiting(rows: list[Row], as_of: date) -> dict[str, Any]:
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


def _utilisation(rows: list[Row]) -> dict[str, Any]:
    mentors = [r for r in rows if r.get("max_mentees")]
    capacity = sum(r["max_mentees"] for r in mentors)
    active = sum(len(r["mentoring"]) for r in mentors)
    over = sum(len(r["mentoring"]) > r["max_mentees"] for r in mentors)
    return {
        "mentors": len(mentors),
        "capacity": capacity,
        "active_pairings": active,
        "rate": stats.rate(active, capacity),
        "over_capacity": over,
    }


def _hours(agreements: dict[str, dict[str, Any]], as_of: date) -> list[dict[str, Any]]:
    out = []
    for aid, a in sorted(agreements.items()):
        months = _months(a["starts_on"], min(as_of, a["ends_on"]))
        contracted = a["hours_per_month"] * months
        logged = a["minutes"] / 60
        out.append(
            {
                "agreement_id": aid,
                "advisor_id": a["advisor_id"],
                "hours_logged": round(logged, 2),
                "hours_contracted": contracted,
                "usage": stats.rate(logged, contracted) if contracted else None,
            }
        )
    return out
