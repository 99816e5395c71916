"""The approved advisors' agreements, with months of hours logged against them.

Each agreement began on the first of a past month and runs a year; the advisor logs
their own hours every month (on the 10th, or today in the current month), so
insights' "advisor hours vs contracts" (hours logged against hours a month times the
months started) reads: one advisor well under, one about half, one close to the limit.
One agreement also carries a delivered one-off engagement (its hours count too), and
another advisor has an engagement booked ahead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from launcher.demo.api import Api
from launcher.demo.facts import dev_token

TERM_MONTHS = 12
LOG_DAY = 10  # advisors send their timesheet on the 10th


@dataclass(frozen=True)
class Terms:
    """One advisor's agreement and the minutes they log each month, oldest first."""

    months_ago: int  # began on the first of the month this many months back
    scope: str
    scope_text: str
    hours_per_month: int
    compensation: dict[str, Any]
    monthly_minutes: tuple[int, ...]  # one per month started, current month last
    engagement: tuple[str, int, int] | None = None  # topic, audience, minutes

    def __post_init__(self) -> None:
        if len(self.monthly_minutes) != self.months_ago + 1:
            raise ValueError("one monthly_minutes entry per month started")
        if max(self.monthly_minutes) > self.hours_per_month * 60:
            raise ValueError("a month's minutes exceed the hours a month")


# In the order of ``advisors.ADVISORS``.
AGREEMENTS = (
    Terms(  # about half of the contracted hours, a delivered session on top
        months_ago=5,
        scope="mentoring",
        scope_text="One-to-one mentoring of two unit heads on strategy and finance.",
        hours_per_month=6,
        compensation={
            "rate_minor_units": 30_000,
            "currency": "EUR",
            "cap_minor_units": 2_160_000,
        },
        monthly_minutes=(210, 180, 240, 150, 210, 120),
        # delivered last month: 210 + 120 minutes stay within its 6 hours
        engagement=("transformation", 40, 120),
    ),
    Terms(  # pro bono, well under
        months_ago=3,
        scope="council",
        scope_text="Seat on the culture and change advisory council.",
        hours_per_month=4,
        compensation={"pro_bono": True},
        monthly_minutes=(90, 120, 60, 90),
    ),
    Terms(  # close to the limit every month
        months_ago=4,
        scope="mixed",
        scope_text="Board-readiness coaching and the data & AI sessions.",
        hours_per_month=8,
        compensation={
            "rate_minor_units": 350_000,
            "currency": "NOK",
            "cap_hours": 48,
        },
        monthly_minutes=(465, 480, 450, 480, 465),
    ),
)
BOOKED_AHEAD = ("crisis_leadership", 25)  # the second advisor's next engagement


def first_of_month(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s (negative: before)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass
class Signed:
    """What was signed and logged, for the facts and for waiting on insights."""

    agreements: dict[str, str]  # advisor id → agreement id
    minutes: dict[str, int]  # agreement id → minutes logged (engagements included)


async def sign_agreements(
    api: Api,
    coordinator: str,
    advisor_ids: list[str],
    today: date,
    step: Callable[[str, int, int], None],
) -> Signed:
    """Sign an agreement with each advisor and log their hours month by month."""
    signed = Signed({}, {})
    for n, (advisor_id, terms) in enumerate(
        zip(advisor_ids, AGREEMENTS, strict=True), 1
    ):
        starts_on = first_of_month(today, -terms.months_ago)
        made = await api.post(
            "/advisors/agreements",
            coordinator,
            {
                "advisor_id": advisor_id,
                "starts_on": starts_on.isoformat(),
                "ends_on": (
                    first_of_month(starts_on, TERM_MONTHS) - timedelta(days=1)
                ).isoformat(),
                "scope": terms.scope,
                "scope_text": terms.scope_text,
                "hours_per_month": terms.hours_per_month,
                "compensation": terms.compensation,
            },
        )
        agreement_id = str(made["agreement_id"])
        signed.agreements[advisor_id] = agreement_id
        advisor = dev_token(advisor_id, ["advisor"])  # advisors log their own hours
        logged = 0
        for k, minutes in enumerate(terms.monthly_minutes):
            month = first_of_month(starts_on, k)
            on = min(month + timedelta(days=LOG_DAY - 1), today)
            await api.post(
                f"/advisors/agreements/{agreement_id}/hours",
                advisor,
                {"minutes": minutes, "on": on.isoformat(), "kind": "mentoring"},
            )
            logged += minutes
        if terms.engagement is not None:
            logged += await _engagement(api, coordinator, advisor_id, today, terms)
        signed.minutes[agreement_id] = logged
        step("advisor agreements", n, len(advisor_ids))
    if len(advisor_ids) > 1:
        topic, audience = BOOKED_AHEAD
        await api.post(
            "/advisors/engagements",
            coordinator,
            {
                "advisor_id": advisor_ids[1],
                "topic": topic,
                "on": (today + timedelta(days=21)).isoformat(),
                "audience_size": audience,
            },
        )
    return signed


async def _engagement(
    api: Api, coordinator: str, advisor_id: str, today: date, terms: Terms
) -> int:
    """A one-off session given last month; its minutes go on the agreement."""
    assert terms.engagement is not None
    topic, audience, minutes = terms.engagement
    on = first_of_month(today, -1) + timedelta(days=LOG_DAY + 5)
    made = await api.post(
        "/advisors/engagements",
        coordinator,
        {
            "advisor_id": advisor_id,
            "topic": topic,
            "on": on.isoformat(),
            "audience_size": audience,
        },
    )
    await api.post(
        f"/advisors/engagements/{made['engagement_id']}/deliver",
        coordinator,
        {"minutes": minutes, "on": on.isoformat()},
    )
    return minutes
