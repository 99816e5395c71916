"""Last year's cohort as a programme-history document (no I/O).

``past_document(o, seed, today)`` builds the ``tandem.programme-history/1`` document
(docs/history-import.md) the seeder imports through ``importProgrammeHistory``: a
leadership cohort that ran nine months and ended about five months before ``today``,
its fourteen mentors (the live cohort's) each with one of ``o.alumni``; their learning
contracts, sessions held, cancelled or missed at each pair's rhythm, milestones
achieved (on time or late) or missed, the mentees' ratings, monthly check-ins and a
quarterly review with the sponsor. One pair ended early (``not_working``) and its
mentee was re-paired with another mentor for the rest of the programme; some mentees
were promoted near its end, one after.

Deterministic: the same seed and ``today`` give the same document (keys, dates and
content), so importing it again answers ``UNCHANGED`` for every record.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from launcher.demo import organisation as org
from launcher.demo.history import OBJECTIVES

FORMAT = "tandem.programme-history/1"
COHORT_KEY = "LA-PAST"
ENDED_DAYS_AGO = 153  # about five months before today
RUN_DAYS = 273  # nine months
EARLY_END_DAYS = 112  # the pair that did not work ended after 16 weeks
PROMOTED = 5  # mentees promoted (all but the last before the cohort ended)
LABELS = ("First draft agreed", "Plan presented", "Results reviewed")
REASONS = ("schedule_conflict", "business_priority", "illness")


@dataclass
class Past:
    """The document and what the seeder needs to know about it."""

    document: dict[str, Any]
    name: str
    starts_on: date
    ends_on: date
    early_pairing: str  # the key of the pair that ended early
    held: dict[str, list[date]] = field(default_factory=dict)  # mentor → days
    promoted: list[str] = field(default_factory=list)  # employee ids
    counts: dict[str, int] = field(default_factory=dict)


def _weekday(day: date) -> date:
    return day - timedelta(days=max(0, day.weekday() - 4))


def _moment(day: date, hour: int) -> str:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def past_document(o: org.Organisation, seed: int, today: date) -> Past:
    rng = random.Random(f"{seed}/past")
    ends = today - timedelta(days=ENDED_DAYS_AGO)
    starts = ends - timedelta(days=RUN_DAYS)
    name = f"Leadership Accelerator {starts.year}-{ends.year % 100:02d}"
    mentors, mentees = o.mentors, o.alumni
    members = [
        {"employee_id": e.employee_id, "role": role, "admitted_on": starts.isoformat()}
        for e, role in [(m, "mentor") for m in mentors]
        + [(m, "mentee") for m in mentees]
    ]
    cohort = {
        "key": COHORT_KEY,
        "name": name,
        "programme_type": "standard",
        "starts_on": starts.isoformat(),
        "ends_on": ends.isoformat(),
        "members": members,
    }
    doc: dict[str, Any] = {
        "format": FORMAT,
        "cohorts": [cohort],
        "pairings": [],
        "sessions": [],
        "milestones": [],
        "feedback": [],
        "check_ins": [],
        "outcomes": [],
    }
    approved = starts + timedelta(days=4)
    first_day = starts + timedelta(days=7)
    early = rng.randrange(len(mentees))
    past = Past(doc, name, starts, ends, early_pairing=f"P-{early + 1:02d}")
    plans: list[tuple[str, org.Employee, org.Employee, date, date, date, str]] = []
    for n, (mentor, mentee) in enumerate(zip(mentors, mentees, strict=True)):
        if n == early:
            stop = first_day + timedelta(days=EARLY_END_DAYS)
            plans.append((f"P-{n + 1:02d}", mentor, mentee, approved, first_day, stop,
                          "not_working"))  # fmt: skip
            # Re-paired a week later with the next mentor, to the end.
            other = mentors[(n + 1) % len(mentors)]
            again = stop + timedelta(days=7)
            plans.append(("P-R1", other, mentee, stop + timedelta(days=3), again, ends,
                          "concluded"))  # fmt: skip
        else:
            plans.append((f"P-{n + 1:02d}", mentor, mentee, approved, first_day, ends,
                          "concluded"))  # fmt: skip
    for slot, (key, mentor, mentee, approved_on, begins, stop, reason) in enumerate(
        plans
    ):
        _pairing(doc, past, rng, key, mentor, mentee, approved_on, begins, stop,
                 reason, slot, o.sponsor.employee_id, today)  # fmt: skip
    finished = [e for n, e in enumerate(mentees) if n != early]
    for k, e in enumerate(rng.sample(finished, PROMOTED)):
        after = k == PROMOTED - 1  # one promotion came after the programme
        on = ends + timedelta(days=40) if after else ends - timedelta(days=10 + 9 * k)
        doc["outcomes"].append(
            {
                "key": f"O-{k + 1:02d}",
                "employee_id": e.employee_id,
                "kind": "promotion",
                "effective_on": on.isoformat(),
                "to_level": e.level + 1,
                "detail": org.title_for(e.level + 1, e.function),
            }
        )
        past.promoted.append(e.employee_id)
    past.counts = {
        section: len(records)
        for section, records in doc.items()
        if isinstance(records, list)
    }
    past.counts["contracts"] = len(doc["pairings"])
    past.counts["sessions_held"] = sum(
        1 for s in doc["sessions"] if s["status"] == "held"
    )
    return past


def _pairing(
    doc: dict[str, Any],
    past: Past,
    rng: random.Random,
    key: str,
    mentor: org.Employee,
    mentee: org.Employee,
    approved_on: date,
    starts_on: date,
    ended_on: date,
    reason: str,
    slot: int,
    sponsor: str,
    today: date,
) -> None:
    every = rng.choice((14, 14, 21, 28))
    objectives = [o[0] for o in rng.sample(OBJECTIVES, 2)]
    doc["pairings"].append(
        {
            "key": key,
            "cohort": COHORT_KEY,
            "mentor": mentor.employee_id,
            "mentee": mentee.employee_id,
            "approved_on": approved_on.isoformat(),
            "starts_on": starts_on.isoformat(),
            "ended_on": ended_on.isoformat(),
            "end_reason": reason,
            "contract": {"every_days": every, "minutes": 60, "objectives": objectives},
        }
    )
    struggling = reason != "concluded"
    hour = (9, 11, 14, 16)[slot % 4]
    day = starts_on + timedelta(days=rng.randint(2, 6))
    n = 0
    held: list[tuple[str, date]] = []
    while True:
        when = _weekday(day)
        if when < starts_on:
            when = starts_on
        if when >= ended_on or when >= today:
            break
        n += 1
        draw = rng.random()
        skip = 0.35 if struggling else 0.12
        status = (
            "held" if draw >= skip else ("cancelled" if draw < skip / 2 else "missed")
        )
        record: dict[str, Any] = {
            "key": f"{key}-S{n:02d}",
            "pairing": key,
            "starts_at": _moment(when, hour),
            "minutes": 60,
            "status": status,
        }
        if status == "cancelled":
            record["reason_code"] = rng.choice(REASONS)
        elif status == "missed":
            record["absent"] = (
                "mentee" if struggling else rng.choice(("mentor", "mentee"))
            )
        else:
            held.append((record["key"], when))
            past.held.setdefault(mentor.employee_id, []).append(when)
        doc["sessions"].append(record)
        day += timedelta(days=every)
    for n, (session, when) in enumerate(held):
        if n % 3 == 1:  # the mentee rates every third session, the next day
            doc["feedback"].append(
                {
                    "key": f"{session}-F",
                    "pairing": key,
                    "from": "mentee",
                    "about": "session",
                    "session": session,
                    "rating": rng.choice((2, 3) if struggling else (3, 4, 4, 5, 5)),
                    "given_at": _moment(when + timedelta(days=1), 18),
                }
            )
    length = (ended_on - starts_on).days
    for m in range(3 if length > 150 else 1):
        set_on = starts_on + timedelta(days=14 + m * length // 3)
        due = min(set_on + timedelta(days=max(21, length // 3 - 10)), ended_on)
        record = {
            "key": f"{key}-M{m + 1}",
            "pairing": key,
            "objective_index": m % 2,
            "label": LABELS[m],
            "set_on": set_on.isoformat(),
            "due_on": due.isoformat(),
        }
        draw = rng.random()
        if not struggling and draw < 0.85:  # most achieved, some of them late
            late = draw > 0.65
            achieved = due + timedelta(days=rng.randint(3, 12)) if late else (
                due - timedelta(days=rng.randint(2, 15)))  # fmt: skip
            achieved = min(max(achieved, set_on), ended_on, today)
            record["achieved_on"] = achieved.isoformat()
        doc["milestones"].append(record)
    month = starts_on + timedelta(days=30)
    while month < ended_on and month < today:
        doc["check_ins"].append(
            {
                "key": f"{key}-K{len(doc['check_ins']) + 1:03d}",
                "pairing": key,
                "kind": "monthly",
                "held_on": month.isoformat(),
                "alignment": rng.randint(1, 3) if struggling else rng.randint(3, 5),
            }
        )
        month += timedelta(days=61)
    review = starts_on + timedelta(days=91)
    if review < ended_on:
        doc["check_ins"].append(
            {
                "key": f"{key}-Q1",
                "pairing": key,
                "kind": "quarterly",
                "held_on": review.isoformat(),
                "alignment": 2 if struggling else rng.randint(3, 5),
                "sponsor": sponsor,
            }
        )


def quarters_before(today: date, count: int = 3) -> list[str]:
    """The ``count`` quarters before today's, oldest first (``2026Q1``)."""
    year, q = today.year, (today.month - 1) // 3 + 1
    out = []
    for _ in range(count):
        q -= 1
        if q == 0:
            year, q = year - 1, 4
        out.append(f"{year}Q{q}")
    return out[::-1]


def in_quarter(day: date, quarter: str) -> bool:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}" == quarter
