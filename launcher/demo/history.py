"""Months of a mentoring relationship, written through the sessions API.

Relationships start when their pairing is confirmed (today), but the sessions
service records when a session was held, the day of a check-in and a milestone's due
date as given: sessions are scheduled and held on past dates, so insights sees
months of meetings (mentor impact per quarter, days since the last session). They
are written newest first, so no thriving pair ever looks stalled on the way: a
warning, once raised, puts a re-pairing on the coordinator's desk.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from launcher.demo.api import Api

OBJECTIVES = (
    ("Build the three-year plan for the unit and win the board's support", "strategy"),
    ("Delegate the day-to-day so the team runs without me for two weeks", "delegation"),
    ("Lead the merger of two teams without losing key people", "change"),
    ("Present the unit's results to the executive committee", "influence"),
    ("Own a P&L line and bring it back to target", "finance"),
    ("Grow two successors ready to step up within a year", "people"),
)
JOURNALS = (
    "What I noticed this month: I still step in too early when the team struggles.",
    "After the steering committee: I prepared the numbers, not the story.",
    "Tried the 'ask, don't tell' approach in two one-to-ones. Slower, but better.",
)


@dataclass
class Pair:
    """One confirmed pairing of the first cohort and its people's tokens."""

    relationship_id: str
    mentor_id: str
    mentee_id: str
    mentor_token: str
    mentee_token: str
    slot: int  # which of the mentor's mentees (keeps the mentor's calendar free)
    key: str  # the mentee's employee id: seeds the pair's own draws


def _weekday(day: date) -> date:
    """The Friday before a weekend day (sessions are held on working days)."""
    return day - timedelta(days=max(0, day.weekday() - 4))


def _at(day: date, slot: int) -> str:
    hour = (9, 11, 14, 16)[slot % 4]
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC).isoformat()


class History:
    """Writes a relationship's past: contract, sessions, milestones, feedback."""

    def __init__(self, api: Api, seed: int, today: date) -> None:
        self.api = api
        self.seed = seed
        self.today = today
        self.sessions_held = 0
        self.milestones = 0
        self.feedback = 0
        self.held: dict[str, list[date]] = {}  # mentor id → days of sessions held

    async def contract(self, p: Pair, every_days: int, rng: random.Random) -> None:
        """The mentee drafts the learning contract; both sign it."""
        first, second = rng.sample(OBJECTIVES, 2)
        rel = f"/sessions/relationships/{p.relationship_id}"
        drafted = await self.api.put(
            f"{rel}/contract",
            p.mentee_token,
            {
                "cadence": {"every_days": every_days, "minutes": 60},
                "hours_per_month": 4 if every_days <= 14 else 2,
                "objectives": [first[0], second[0]],
            },
        )
        version = drafted["contract"]["version"]
        for token in (p.mentee_token, p.mentor_token):
            await self.api.post(
                f"{rel}/contract/signatures", token, {"version": version}
            )

    async def session(self, p: Pair, day: date, *, held: bool = True) -> str:
        made = await self.api.post(
            f"/sessions/relationships/{p.relationship_id}/sessions",
            p.mentor_token,
            {"starts_at": _at(day, p.slot), "outside_availability": True},
        )
        if held:
            await self.api.post(
                f"/sessions/sessions/{made['session_id']}/held", p.mentor_token
            )
            self.sessions_held += 1
            self.held.setdefault(p.mentor_id, []).append(day)
        return str(made["session_id"])

    def rng(self, p: Pair) -> random.Random:
        """The pair's own draws: the same story whatever order pairs are written in."""
        return random.Random(f"{self.seed}/{p.key}")

    async def thriving(self, p: Pair) -> None:
        """Months of meetings at the agreed rhythm, the last one days ago, one more
        booked; a milestone achieved, another under way; ratings, check-ins, notes."""
        rng = self.rng(p)
        every = rng.choice((14, 14, 21, 28))
        await self.contract(p, every, rng)
        months = rng.randint(3, 6)
        count = min(8, months * 30 // every)
        last = rng.randint(2, 9)
        held: list[str] = []  # newest first: the pair never looks stalled meanwhile
        for k in range(count):
            day = _weekday(self.today - timedelta(days=last + k * every))
            held.append(await self.session(p, day))
        await self.session(
            p, _weekday(self.today + timedelta(days=every - last + 1)), held=False
        )
        for session_id in reversed(held[:3]):
            await self.rate(p, session_id, rng.choice((4, 4, 5, 5, 3)))
        await self.milestone(p, 0, rng, achieved=True)
        await self.milestone(p, 1, rng, achieved=False)
        for months_ago in (2, 1):
            day = self.today - timedelta(days=30 * months_ago + 3)
            await self.check_in(p, day, rng.randint(3, 5))
        await self.api.post(
            f"/sessions/relationships/{p.relationship_id}/notes",
            p.mentee_token,
            {"kind": "journal", "body": rng.choice(JOURNALS)},
        )

    async def stalled(self, p: Pair) -> None:
        """Two early sessions four months ago, then nothing: the warning case."""
        rng = self.rng(p)
        await self.contract(p, 14, rng)
        await self.session(p, _weekday(self.today - timedelta(days=117)))
        first = await self.session(p, _weekday(self.today - timedelta(days=131)))
        await self.rate(p, first, 3)
        milestone = await self.milestone(p, 0, rng, achieved=False)
        await self.api.post(
            f"/sessions/milestones/{milestone}/status",
            p.mentee_token,
            {"status": "at_risk"},
        )
        await self.check_in(p, self.today - timedelta(days=110), 2)

    async def rate(self, p: Pair, session_id: str, rating: int) -> None:
        await self.api.post(
            f"/sessions/relationships/{p.relationship_id}/feedback",
            p.mentee_token,
            {"about": "session", "subject_id": session_id, "rating": rating},
        )
        self.feedback += 1

    async def milestone(
        self, p: Pair, objective: int, rng: random.Random, *, achieved: bool
    ) -> str:
        due = self.today + timedelta(days=rng.randint(20, 120))
        made = await self.api.post(
            f"/sessions/relationships/{p.relationship_id}/milestones",
            p.mentee_token,
            {
                "objective_index": objective,
                "label": ("First draft agreed", "Plan presented")[objective],
                "due_on": due.isoformat(),
                "criteria": ["Signed off by the sponsor"],
            },
        )
        self.milestones += 1
        milestone_id = str(made["milestone_id"])
        if achieved:
            await self.api.post(
                f"/sessions/milestones/{milestone_id}/achieve",
                p.mentor_token,
                {"evidence": "Minutes of the steering committee"},
            )
        else:
            await self.api.post(
                f"/sessions/milestones/{milestone_id}/status",
                p.mentee_token,
                {"status": "in_progress"},
            )
        return milestone_id

    async def check_in(self, p: Pair, day: date, alignment: int) -> None:
        await self.api.post(
            f"/sessions/relationships/{p.relationship_id}/check-ins",
            p.mentor_token,
            {
                "kind": "monthly",
                "alignment": alignment,
                "held_on": day.isoformat(),
            },
        )
