"""The words of an explanation: one sentence per criterion, from the raw profiles.

The numbers come from the scoring functions (``scoring.explain``); this module only
says, in terms a programme owner can check, what produced them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from services.matching.domain.candidates import fold
from services.matching.domain.encoding import EncodedCohort

MAX_LISTED = 3


def reason_for(
    criterion: str,
    enc: EncodedCohort,
    mentee: int,
    mentor: int,
    value: float,
    names: Mapping[str, str],
) -> str:
    return _WORDING[criterion](_Pair(enc, mentee, mentor, names), value)


class _Pair:
    def __init__(
        self, enc: EncodedCohort, i: int, j: int, names: Mapping[str, str]
    ) -> None:
        self.enc = enc
        self.i, self.j = i, j
        self.mentee = enc.mentees[i]
        self.mentor = enc.mentors[j]
        self.who = names.get(self.mentee.person_id, "the mentee")
        self.mentor_name = names.get(self.mentor.person_id, "the mentor")

    def competency(self, competency_id: str) -> str:
        return self.enc.competency_name(competency_id)


def _listing(items: list[str]) -> str:
    shown = items[:MAX_LISTED]
    more = len(items) - len(shown)
    text = ", ".join(shown[:-1]) + (" and " if len(shown) > 1 else "") + shown[-1]
    return text + (f" (+{more} more)" if more else "")


def _skills(p: _Pair, value: float) -> str:
    goals = sorted(p.mentee.growth_goals, key=lambda g: -g.gap)
    if not goals:
        return f"{p.who} stated no growth goals"
    strong = [
        f"strong in {p.competency(g.competency_id)} "
        f"({p.mentor.strengths[g.competency_id]}/5) where {p.who} wants to grow "
        f"from {g.current} to {g.target}"
        for g in goals
        if p.mentor.strengths.get(g.competency_id, 0) >= 3
    ]
    if not strong:
        wanted = [p.competency(g.competency_id) for g in goals]
        return f"not strong (3/5 or more) in what {p.who} wants to grow: {_listing(wanted)}"
    return _listing(strong)


def _goals(p: _Pair, value: float) -> str:
    goals = p.mentee.growth_goals
    if not goals:
        return f"{p.who} stated no growth goals"
    reached: list[str] = []
    short: list[str] = []
    for g in sorted(goals, key=lambda g: -g.gap):
        level = p.mentor.strengths.get(g.competency_id, 0)
        label = (
            f"{p.competency(g.competency_id)} ({level or 'none'} vs target {g.target})"
        )
        (reached if level >= g.target else short).append(label)
    text = f"can take {p.who} to the target level in {len(reached)} of {len(goals)} growth goals"
    if reached:
        text += f": {_listing(reached)}"
    if short:
        text += f"; short of it in {_listing(short)}"
    return text


def _experience(p: _Pair, value: float) -> str:
    lacking = list(dict.fromkeys(fold(x) for x in p.mentee.experiences_lacking))
    if not lacking:
        return f"{p.who} listed no experience gaps"
    kinds = p.mentor.experience_kinds()
    covered = [f"{kinds[x]} experience '{x}'" for x in lacking if x in kinds]
    if not covered:
        return f"has none of the experiences {p.who} lacks ({_listing(lacking)})"
    return f"brings {_listing(covered)}: {len(covered)} of the {len(lacking)} {p.who} lacks"


def _perspective(p: _Pair, value: float) -> str:
    a, b = p.mentee, p.mentor
    facts = []
    for label, x, y in (
        ("business unit", a.business_unit, b.business_unit),
        ("geography", a.geography, b.geography),
        ("function", a.function, b.function),
    ):
        facts.append(
            f"different {label} ({x} / {y})" if x != y else f"same {label} ({x})"
        )
    if a.generation and b.generation:
        facts.append(
            "different generation"
            if a.generation != b.generation
            else "same generation"
        )
    return "; ".join(facts)


def _style(p: _Pair, value: float) -> str:
    ls, lead = p.mentee.learning_style, p.mentor.leadership_style
    if not ls or not lead:
        return f"style not stated on both sides: neutral {value:.2f}"
    return (
        f"{p.who} learns '{ls}', {p.mentor_name} leads '{lead}': affinity {value:.2f}"
    )


def _formats(p: _Pair, value: float) -> str:
    wanted = list(dict.fromkeys(p.mentee.preferred_formats))
    if not wanted:
        return f"{p.who} has no format preference"
    if not p.mentor.formats:
        return f"{p.mentor_name} stated no formats: neutral {value:.2f}"
    both = [f for f in wanted if f in p.mentor.formats]
    if not both:
        return f"offers none of the preferred formats ({_listing(wanted)})"
    return f"offers {_listing(both)}: {len(both)} of {len(wanted)} preferred formats"


def _availability(p: _Pair, value: float) -> str:
    enc = p.enc
    hours = float(enc.shared_hours[enc.mentee_pattern[p.i], enc.mentor_pattern[p.j]])
    per_seat = float(p.enc.hours_per_seat[p.j])
    text = (
        f"{hours:g} h a week of shared availability "
        f"(full marks from {p.enc.config.target_overlap_hours:g} h)"
    )
    if p.mentee.hours_per_month > 0:
        text += (
            f"; {per_seat:.1f} h a month per mentee against "
            f"{p.mentee.hours_per_month} wanted"
        )
    return text


_WORDING: dict[str, Callable[[_Pair, float], str]] = {
    "skills": _skills,
    "experience": _experience,
    "perspective": _perspective,
    "style": _style,
    "formats": _formats,
    "availability": _availability,
    "goals": _goals,
}
