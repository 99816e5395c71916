"""Relationship health over time: how many relationships stood in each state, by date.

``GET /relationships/health/history?from=&to=&every=week|month[&cohort_id=]``
(coordinators, sponsors, admins).

Definition, for each point date ``d``:

- The points step back from ``to`` by 7 days (``week``) or one calendar month
  (``month``, the day clamped to the month's length: 31 March, 28 February, 31
  January) while they are not before ``from``; they are answered oldest first, so the
  last point is always ``to``. At most ``MAX_POINTS`` points.
- A relationship is counted in the state ``domain.health.assess`` gives it as of the
  END of ``d`` (23:59:59.999999 UTC) from the facts that had happened by then, each
  at its effective moment whenever it was recorded (``domain.effective``: a session
  held in July and imported in December counts in July): exactly what
  ``GET /relationships/{id}/health?as_of=d`` answers for it.
- A relationship not yet started at ``d`` is not counted: its start day
  (``starts_on``, else the day its ``RelationshipStarted`` was recorded) is after
  ``d``. One that ended by ``d`` (its end's effective day) is ``concluded``.
- Only facts are read (never the ``relationship_health`` table): a relationship of
  a person erased since is still counted, its facts naming them by a pseudonym
  (``erasure.py``), so the other side's history does not change.

The tenant's health-relevant facts are read once (all of them: a fact recorded after
``to`` may have happened before it) and folded once (``domain.health.apply``); each
point assesses every relationship as of its end, so a range costs one query, one
fold and one assessment per started relationship and point.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import TypedDict

from chassis.errors import FieldError, ValidationFailed
from chassis.events import JsonDict
from contracts.insights import HealthInterval, HealthState
from services.insights.domain import health as domain

MAX_POINTS = 60
STATES = tuple(HealthState)  # in the order the answer lists them
Interval = HealthInterval
Fact = tuple[str, JsonDict, datetime]  # (type, data, occurred_at)


class CountsAt(TypedDict):
    """Relationships by state at the end of one day."""

    date: str
    counts: dict[HealthState, int]
    total: int


def _months_back(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def points(start: date, end: date, every: Interval) -> list[date]:
    """The point dates from ``start`` to ``end``, oldest first, ending at ``end``.

    Raises ``ValidationFailed`` when ``start`` is after ``end`` or there would be
    more than ``MAX_POINTS`` points.
    """
    if start > end:
        raise ValidationFailed([FieldError("from", "must not be after 'to'")])
    out: list[date] = []
    step = 0
    while True:
        day = (
            end - timedelta(days=7 * step)
            if every == HealthInterval.WEEK
            else _months_back(end, step)
        )
        if day < start:
            break
        if len(out) == MAX_POINTS:
            raise ValidationFailed(
                [FieldError("from", f"at most {MAX_POINTS} points: shorten the range")]
            )
        out.append(day)
        step += 1
    return out[::-1]


def end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


def counts_over(
    facts: Iterable[Fact],
    at: list[date],
    *,
    idle_days: int,
    cohort_id: str | None = None,
) -> list[CountsAt]:
    """Counts by state at the end of each day of ``at`` (ascending), from ``facts``.

    ``facts`` are (type, data, recorded at) in the order they were recorded; they
    are folded once (``domain.health.fold``) and every relationship is assessed as
    of the end of each point, from the facts that had happened by then.
    """
    relationships = domain.fold(facts)
    out: list[CountsAt] = []
    for day in at:
        cut = end_of(day)
        counts: Counter[HealthState] = Counter({s: 0 for s in STATES})
        for f in relationships.values():
            if not f.mentor_id or not f.started_at:
                continue  # facts of a relationship whose start is not known
            if domain.day_of(f.started_at) > day:
                continue
            if cohort_id is not None and f.cohort_id != cohort_id:
                continue
            counts[domain.assess(f, cut, idle_days=idle_days).state] += 1
        out.append(
            {
                "date": day.isoformat(),
                "counts": {s: counts[s] for s in STATES},
                "total": sum(counts.values()),
            }
        )
    return out
