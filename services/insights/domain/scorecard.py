"""The balanced scorecard, computed from facts by pure functions (no framework).

A scorecard is asked for a scope (a mentee, a relationship, a cohort, the programme)
as it stood at ``as_of``: the caller passes the facts that had happened by then and
the same moment, so "now", "as of a past date" and "after a rebuild" are one
computation. Facts are folded in (time, id) order and keyed by their own ids, so
duplicate or reordered delivery changes nothing.

Skill growth (per goal competency)
  baseline   ``current`` in the first ``IntakeSubmitted`` naming the competency.
  latest     ``current`` in the last ``IntakeSubmitted`` naming it (re-assessment).
  target     ``target`` in that last intake.  change = latest - baseline;
  reached    latest >= target.  A mentee's ``mean_change`` is the mean over their
             goals; a group's is the mean of its mentees' means (each mentee counts
             once), ``goals``/``goals_reached``/``reassessed`` are totals.
Behavioural change (over the scope's relationships)
  milestones ``due`` = set milestones whose ``due_on`` is on or before the date of the
             figure, plus any achieved or marked missed by then (a missed one
             later achieved counts as achieved);
             ``missed`` = due and not achieved by the date of the figure, whether or
             not anyone marked it missed (``MilestoneMissed``): due = achieved +
             missed. A milestone achieved late counts as achieved (not on time),
             never as missed; asked as of a day before its late achievement, it is
             missed. One due on the very day of the figure and not achieved by then
             is missed (the figure is as of the end of that day);
             completion_rate = achieved / due; on_time_rate = achieved on time /
             achieved (``None`` when the denominator is 0).
  feedback   every ``FeedbackGiven`` rating in time order: count, mean and ``trend``
             = least-squares slope in rating points per feedback (``None`` under 2).
             A group's trend is the mean of its mentees' trends.
  reflections journals and after-action reviews written by the mentee, not deleted.
  debriefs   rotations debriefed (``RotationDebriefed``), beside rotations assigned.
Business impact (HRIS ``CareerOutcomeRecorded``)
  Outcomes count from the participant's start (first mentee admission or
  relationship start; a relationship scope starts at its own start) to ``as_of``.
  promotion_rate = share promoted; role_expansion_rate = share with a
  ``role_change``; retention_rate = share without a ``departure``.
  comparison: registered people who never took part (no admission, no relationship,
  no mentee/mentor role), at the levels the scope's mentees held, still employed
  when the scope started, with outcomes in the same window. Reported with ``lift``
  (participants minus comparison, in rate points) only when at least
  ``min_comparison`` such people exist; otherwise ``None`` with the reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import TypedDict

from chassis.events import JsonDict
from contracts.insights import ScorecardScope
from services.insights.domain.scorecard_state import MIN_COMPARISON, Org, day, fold

__all__ = [
    "Card",
    "Org",
    "cohort_card",
    "fold",
    "mentee_card",
    "programme_card",
    "relationship_card",
]


class Goal(TypedDict):
    competency_id: str
    baseline: int
    latest: int
    target: int
    change: int
    reached: bool


class SkillGrowth(TypedDict):
    goals: list[Goal]
    mean_change: float | None
    goals_reached: int
    reassessed: bool


class GroupSkillGrowth(TypedDict):
    mean_change: float | None
    goals: int
    goals_reached: int
    reassessed: int


class Milestones(TypedDict):
    set: int
    due: int
    achieved: int
    on_time: int
    missed: int
    completion_rate: float | None
    on_time_rate: float | None


class Feedback(TypedDict):
    count: int
    mean: float | None
    trend: float | None


class Behaviour(TypedDict):
    milestones: Milestones
    feedback: Feedback
    reflections: int
    rotations: int
    debriefs: int


class OutcomeRates(TypedDict):
    people: int
    promoted: int
    role_expanded: int
    departed: int
    promotion_rate: float | None
    role_expansion_rate: float | None
    retention_rate: float | None


class Lift(TypedDict):
    promotion_rate: float | None
    role_expansion_rate: float | None
    retention_rate: float | None


class Impact(OutcomeRates):
    comparison: OutcomeRates | None
    lift: Lift | None
    comparison_note: str | None


class Member(TypedDict):
    mentee_id: str
    skill_growth: SkillGrowth
    behaviour: Behaviour


class MenteeCard(TypedDict):
    scope: ScorecardScope
    id: str
    as_of: str
    relationships: list[str]
    skill_growth: SkillGrowth
    behaviour: Behaviour
    impact: Impact


class RelationshipCard(TypedDict):
    scope: ScorecardScope
    id: str
    as_of: str
    mentee_id: str
    mentor_id: str
    cohort_id: str | None
    skill_growth: SkillGrowth
    behaviour: Behaviour
    impact: Impact


class GroupCard(TypedDict):
    scope: ScorecardScope
    id: str | None
    as_of: str
    mentees: int
    skill_growth: GroupSkillGrowth
    behaviour: Behaviour
    impact: Impact
    members: list[Member]


class CohortCard(GroupCard):
    withdrawn: int


class ProgrammeCard(GroupCard):
    cohorts: int


Card = MenteeCard | RelationshipCard | CohortCard | ProgrammeCard  # one, as JSON


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _ratio(num: int, den: int) -> float | None:
    return _r(num / den) if den else None


def _mean(xs: Sequence[float]) -> float | None:
    return _r(sum(xs) / len(xs)) if xs else None


def slope(ys: list[int]) -> float | None:
    """Least-squares slope of ``ys`` against their position."""
    n = len(ys)
    if n < 2:
        return None
    mx, my = (n - 1) / 2, sum(ys) / n
    num = sum((i - mx) * (y - my) for i, y in enumerate(ys))
    return _r(num / sum((i - mx) ** 2 for i in range(n)))


# -- the three perspectives --------------------------------------------------------


def skill_growth(org: Org, person: str) -> SkillGrowth:
    first: dict[str, int] = {}
    last: dict[str, JsonDict] = {}
    for assessment in org.assessments.get(person, []):
        for g in assessment:
            first.setdefault(g["competency_id"], int(g["current"]))
            last[g["competency_id"]] = g
    goals: list[Goal] = []
    for comp in sorted(first):
        latest, target = int(last[comp]["current"]), int(last[comp]["target"])
        goals.append(
            {
                "competency_id": comp,
                "baseline": first[comp],
                "latest": latest,
                "target": target,
                "change": latest - first[comp],
                "reached": latest >= target,
            }
        )
    return {
        "goals": goals,
        "mean_change": _mean([g["change"] for g in goals]),
        "goals_reached": sum(g["reached"] for g in goals),
        "reassessed": len(org.assessments.get(person, [])) >= 2,
    }


def behaviour(org: Org, rels: list[str], mentee: str, on: date) -> Behaviour:
    wanted = set(rels)
    ms = [m for m in org.milestones.values() if m.relationship_id in wanted]
    due = [
        m
        for m in ms
        if m.achieved or m.missed or (m.due_on is not None and m.due_on <= on)
    ]
    achieved = [m for m in due if m.achieved]
    ratings = sorted(r for rel in rels for r in org.ratings.get(rel, {}).values())
    values = [r[2] for r in ratings]
    reflections = [
        n
        for n, (rel, who) in org.notes.items()
        if rel in wanted and who == mentee and n not in org.deleted_notes
    ]
    return {
        "milestones": {
            "set": len(ms),
            "due": len(due),
            "achieved": len(achieved),
            "on_time": sum(m.on_time for m in achieved),
            "missed": len(due) - len(achieved),
            "completion_rate": _ratio(len(achieved), len(due)),
            "on_time_rate": _ratio(sum(m.on_time for m in achieved), len(achieved)),
        },
        "feedback": {
            "count": len(values),
            "mean": _mean(values),
            "trend": slope(values),
        },
        "reflections": len(reflections),
        "rotations": sum(len(org.rotations.get(r, ())) for r in rels),
        "debriefs": sum(len(org.debriefs.get(r, ())) for r in rels),
    }


def _outcome_flags(
    org: Org, person: str, start: date | None, on: date
) -> dict[str, bool]:
    kinds = {
        o["kind"]
        for o in org.outcomes.get(person, {}).values()
        if (start is None or day(o["effective_on"]) >= start)
        and day(o["effective_on"]) <= on
    }
    return {
        "promoted": "promotion" in kinds,
        "role_expanded": "role_change" in kinds,
        "departed": "departure" in kinds,
    }


def _rates(flags: list[dict[str, bool]]) -> OutcomeRates:
    n = len(flags)
    return {
        "people": n,
        "promoted": sum(f["promoted"] for f in flags),
        "role_expanded": sum(f["role_expanded"] for f in flags),
        "departed": sum(f["departed"] for f in flags),
        "promotion_rate": _ratio(sum(f["promoted"] for f in flags), n),
        "role_expansion_rate": _ratio(sum(f["role_expanded"] for f in flags), n),
        "retention_rate": _ratio(sum(not f["departed"] for f in flags), n),
    }


def impact(
    org: Org,
    starts: dict[str, date | None],
    on: date,
    min_comparison: int = MIN_COMPARISON,
) -> Impact:
    """Outcomes of the people in ``starts`` (person → start), with a comparison."""
    result = _rates([_outcome_flags(org, p, s, on) for p, s in sorted(starts.items())])
    known = [s for s in starts.values() if s is not None]
    window = min(known, default=None)
    levels = {org.levels[p] for p in starts if p in org.levels}
    taking_part = org.participants()
    pool = []
    for person, level in sorted(org.levels.items()):
        if person in taking_part or level not in levels:
            continue
        if window is not None and any(
            o["kind"] == "departure" and day(o["effective_on"]) < window
            for o in org.outcomes.get(person, {}).values()
        ):
            continue
        pool.append(_outcome_flags(org, person, window, on))
    if len(pool) < min_comparison:
        return {
            **result,
            "comparison": None,
            "lift": None,
            "comparison_note": f"{len(pool)} comparable non-participants; at least "
            f"{min_comparison} are needed",
        }
    comparison = _rates(pool)

    def lift(ours: float | None, theirs: float | None) -> float | None:
        return _r(ours - theirs) if ours is not None and theirs is not None else None

    return {
        **result,
        "comparison": comparison,
        "lift": {
            "promotion_rate": lift(
                result["promotion_rate"], comparison["promotion_rate"]
            ),
            "role_expansion_rate": lift(
                result["role_expansion_rate"], comparison["role_expansion_rate"]
            ),
            "retention_rate": lift(
                result["retention_rate"], comparison["retention_rate"]
            ),
        },
        "comparison_note": None,
    }


# -- scopes --------------------------------------------------------------------------


def mentee_card(
    org: Org, person: str, as_of: datetime, *, min_comparison: int = MIN_COMPARISON
) -> MenteeCard | None:
    on = as_of.date()
    known = org.mentees() | set(org.assessments)
    if person not in known:
        return None
    rels = sorted(r for r, v in org.relationships.items() if v.mentee_id == person)
    return {
        "scope": ScorecardScope.MENTEE,
        "id": person,
        "as_of": as_of.isoformat(),
        "relationships": rels,
        "skill_growth": skill_growth(org, person),
        "behaviour": behaviour(org, rels, person, on),
        "impact": impact(org, {person: org.start_of(person)}, on, min_comparison),
    }


def relationship_card(
    org: Org, rel: str, as_of: datetime, *, min_comparison: int = MIN_COMPARISON
) -> RelationshipCard | None:
    r = org.relationships.get(rel)
    if r is None:
        return None
    on = as_of.date()
    return {
        "scope": ScorecardScope.RELATIONSHIP,
        "id": rel,
        "as_of": as_of.isoformat(),
        "mentee_id": r.mentee_id,
        "mentor_id": r.mentor_id,
        "cohort_id": r.cohort_id,
        "skill_growth": skill_growth(org, r.mentee_id),
        "behaviour": behaviour(org, [rel], r.mentee_id, on),
        "impact": impact(org, {r.mentee_id: r.starts_on}, on, min_comparison),
    }


def _group(
    org: Org,
    scope: ScorecardScope,
    ident: str | None,
    mentees: set[str],
    rels_of: dict[str, list[str]],
    as_of: datetime,
    min_comparison: int,
) -> GroupCard:
    on = as_of.date()
    members: list[Member] = []
    for p in sorted(mentees):
        members.append(
            {
                "mentee_id": p,
                "skill_growth": skill_growth(org, p),
                "behaviour": behaviour(org, rels_of.get(p, []), p, on),
            }
        )
    skills = [m["skill_growth"] for m in members]
    acts = [m["behaviour"] for m in members]
    milestones = [a["milestones"] for a in acts]
    achieved = sum(m["achieved"] for m in milestones)
    due = sum(m["due"] for m in milestones)
    on_time = sum(m["on_time"] for m in milestones)
    ms: Milestones = {
        "set": sum(m["set"] for m in milestones),
        "due": due,
        "achieved": achieved,
        "on_time": on_time,
        "missed": sum(m["missed"] for m in milestones),
        "completion_rate": _ratio(achieved, due),
        "on_time_rate": _ratio(on_time, achieved),
    }
    trends = [
        a["feedback"]["trend"] for a in acts if a["feedback"]["trend"] is not None
    ]
    ratings = sum(a["feedback"]["count"] for a in acts)
    rating_sum = sum(
        (a["feedback"]["mean"] or 0) * a["feedback"]["count"]
        for a in acts
        if a["feedback"]["count"]
    )
    return {
        "scope": scope,
        "id": ident,
        "as_of": as_of.isoformat(),
        "mentees": len(members),
        "skill_growth": {
            "mean_change": _mean(
                [s["mean_change"] for s in skills if s["mean_change"] is not None]
            ),
            "goals": sum(len(s["goals"]) for s in skills),
            "goals_reached": sum(s["goals_reached"] for s in skills),
            "reassessed": sum(s["reassessed"] for s in skills),
        },
        "behaviour": {
            "milestones": ms,
            "feedback": {
                "count": ratings,
                "mean": _r(rating_sum / ratings) if ratings else None,
                "trend": _mean(trends),
            },
            "reflections": sum(a["reflections"] for a in acts),
            "rotations": sum(a["rotations"] for a in acts),
            "debriefs": sum(a["debriefs"] for a in acts),
        },
        "impact": impact(
            org, {p: org.start_of(p) for p in mentees}, on, min_comparison
        ),
        "members": members,
    }


def cohort_card(
    org: Org, cohort: str, as_of: datetime, *, min_comparison: int = MIN_COMPARISON
) -> CohortCard | None:
    rels = {r: v for r, v in org.relationships.items() if v.cohort_id == cohort}
    mentees = set(org.admitted.get(cohort, {})) | {v.mentee_id for v in rels.values()}
    if cohort not in org.cohorts and not mentees:
        return None
    rels_of: dict[str, list[str]] = defaultdict(list)
    for r, v in sorted(rels.items()):
        rels_of[v.mentee_id].append(r)
    card = _group(
        org, ScorecardScope.COHORT, cohort, mentees, rels_of, as_of, min_comparison
    )
    return {**card, "withdrawn": len(org.withdrawn.get(cohort, set()) & mentees)}


def programme_card(
    org: Org, as_of: datetime, *, min_comparison: int = MIN_COMPARISON
) -> ProgrammeCard:
    rels_of: dict[str, list[str]] = defaultdict(list)
    for r, v in sorted(org.relationships.items()):
        rels_of[v.mentee_id].append(r)
    card = _group(
        org,
        ScorecardScope.PROGRAMME,
        None,
        org.mentees(),
        rels_of,
        as_of,
        min_comparison,
    )
    return {**card, "cohorts": len(org.cohorts)}
