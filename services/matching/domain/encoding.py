"""Turn a cohort's profiles into arrays once, so every pair is scored by matrix algebra.

Multi-hot matrices for competencies, experiences, formats and languages; integer codes
for business unit, geography, function, generation and styles; availability as a
weekly bitmap of half-hour slots in UTC (local windows shifted by each person's IANA
zone in the configured week, so summer time is right). Mentees are rows, mentors
columns, in the order given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from services.matching.domain.candidates import (
    FORMATS,
    MenteeProfile,
    MentorProfile,
    Window,
    fold,
    unique_ids,
)
from services.matching.domain.config import MatchingConfig

SLOT_MINUTES = 30
WEEK_SLOTS = 7 * 24 * 60 // SLOT_MINUTES  # 336 half-hours
# Who states no availability is taken to be free in office hours, local time.
OFFICE_HOURS: tuple[Window, ...] = tuple(Window(d, "09:00", "17:00") for d in range(5))
MIN_TARGET = 2  # a growth goal's target is at least 2 (it is above current >= 1)
LEVELS = range(MIN_TARGET, 6)

Progress = Callable[[str, int, int], None]


def no_progress(_phase: str, _done: int, _total: int) -> None:
    return None


@dataclass(frozen=True)
class Codes:
    """A vocabulary: each distinct value → its column or code."""

    values: tuple[str, ...]

    @classmethod
    def of(cls, *groups: Sequence[str | None]) -> Codes:
        return cls(tuple(sorted({v for g in groups for v in g if v is not None})))

    @property
    def index(self) -> dict[str, int]:
        return {v: n for n, v in enumerate(self.values)}

    def codes(self, items: Sequence[str | None]) -> np.ndarray:
        index = self.index
        return np.array([index.get(v, -1) if v else -1 for v in items], dtype=np.int32)

    def multi_hot(self, rows: Sequence[Sequence[str]]) -> np.ndarray:
        index = self.index
        out = np.zeros((len(rows), len(self.values)), dtype=np.float64)
        for r, items in enumerate(rows):
            for v in items:
                if v in index:
                    out[r, index[v]] = 1.0
        return out


@dataclass(frozen=True)
class EncodedCohort:
    """A cohort as arrays (mentees are rows, mentors columns). Built by ``encode``."""

    mentees: tuple[MenteeProfile, ...]
    mentors: tuple[MentorProfile, ...]
    config: MatchingConfig
    competencies: Codes
    competency_names: Mapping[str, str]
    experiences: Codes
    # mentees (n rows)
    goal_weight: np.ndarray  # (n, k) share of each competency in the growth wanted
    goal_weight_by_target: np.ndarray  # (n, 4k) the same, split by target level 2..5
    lacking: np.ndarray  # (n, e) experiences lacking, rows sum to 1 (or 0)
    mentee_formats: np.ndarray  # (n, f) preferred formats, rows sum to 1 (or 0)
    learning_style: np.ndarray  # (n,) code, last code = not stated
    mentee_pattern: np.ndarray  # (n,) which distinct weekly availability pattern
    mentee_hours: np.ndarray  # (n,) hours a month wanted
    mentee_level: np.ndarray
    mentee_unit: np.ndarray
    mentee_geo: np.ndarray
    mentee_function: np.ndarray
    mentee_generation: np.ndarray  # -1 unknown
    mentee_languages: np.ndarray  # (n, l) float32 multi-hot
    # mentors (m rows)
    strong: np.ndarray  # (m, k) how strong, 0 (proficiency <= 2) to 1 (5)
    reaches: np.ndarray  # (m, 4k) 1 where proficiency >= target level 2..5
    experience: np.ndarray  # (m, e) multi-hot
    mentor_formats: np.ndarray  # (m, f) multi-hot
    leadership_style: np.ndarray  # (m,) code, last code = not stated
    mentor_pattern: np.ndarray  # (m,)
    shared_hours: np.ndarray  # (mentee patterns, mentor patterns) weekly hours
    hours_per_seat: np.ndarray  # (m,) monthly hours per mentee
    mentor_level: np.ndarray
    mentor_unit: np.ndarray
    mentor_geo: np.ndarray
    mentor_function: np.ndarray
    mentor_generation: np.ndarray
    mentor_languages: np.ndarray
    capacity: np.ndarray  # (m,) int64 remaining seats
    style_affinity: np.ndarray  # (learning styles + 1, leadership styles + 1)
    learning_styles: Codes = field(default_factory=lambda: Codes(()))
    leadership_styles: Codes = field(default_factory=lambda: Codes(()))

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.mentees), len(self.mentors)

    @cached_property
    def mentee_index(self) -> dict[str, int]:
        return {p.person_id: n for n, p in enumerate(self.mentees)}

    @cached_property
    def mentor_index(self) -> dict[str, int]:
        return {p.person_id: n for n, p in enumerate(self.mentors)}

    def competency_name(self, competency_id: str) -> str:
        return self.competency_names.get(competency_id, competency_id)


def encode(
    mentees: Sequence[MenteeProfile],
    mentors: Sequence[MentorProfile],
    config: MatchingConfig | None = None,
    competency_names: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> EncodedCohort:
    """Encode both sides of a cohort for vectorised scoring."""
    config = (config or MatchingConfig()).validated()
    report = progress or no_progress
    unique_ids(mentees, "mentees")
    unique_ids(mentors, "mentors")
    report("encode", 0, 2)
    n, m = len(mentees), len(mentors)
    competencies = Codes.of(
        *[[g.competency_id for g in p.goals] for p in mentees],
        *[list(p.strengths) for p in mentors],
    )
    k = len(competencies.values)
    cidx = competencies.index

    gap = np.zeros((n, k))
    target = np.zeros((n, k), dtype=np.int8)
    for r, p in enumerate(mentees):
        for g in p.growth_goals:
            c = cidx[g.competency_id]
            if g.gap > gap[r, c]:
                gap[r, c], target[r, c] = g.gap, g.target
    goal_weight = _rows_to_one(gap)
    by_target = np.concatenate([goal_weight * (target == t) for t in LEVELS], axis=1)
    proficiency = np.zeros((m, k), dtype=np.int8)
    for r, mentor in enumerate(mentors):
        for competency, level in mentor.strengths.items():
            proficiency[r, cidx[competency]] = level
    strong = np.clip((proficiency - 2) / 3.0, 0.0, 1.0)
    reaches = np.concatenate(
        [(proficiency >= t).astype(np.float64) for t in LEVELS], axis=1
    )

    lacking_rows = [[fold(x) for x in p.experiences_lacking] for p in mentees]
    known_rows = [list(p.experience_kinds()) for p in mentors]
    experiences = Codes.of(*lacking_rows, *known_rows)
    formats = Codes(FORMATS)
    languages = Codes.of(
        *[[fold(x) for x in p.languages] for p in (*mentees, *mentors)]
    )
    units = Codes.of([p.business_unit for p in (*mentees, *mentors)])
    geos = Codes.of([p.geography for p in (*mentees, *mentors)])
    functions = Codes.of([p.function for p in (*mentees, *mentors)])
    generations = Codes.of([p.generation for p in (*mentees, *mentors)])
    learning = Codes.of([p.learning_style for p in mentees])
    leading = Codes.of([p.leadership_style for p in mentors])
    report("encode", 1, 2)

    monday = config.monday
    mentee_pattern, mentee_bits = _patterns(mentees, monday)
    mentor_pattern, mentor_bits = _patterns(mentors, monday)
    encoded = EncodedCohort(
        mentees=tuple(mentees),
        mentors=tuple(mentors),
        config=config,
        competencies=competencies,
        competency_names=dict(competency_names or {}),
        experiences=experiences,
        goal_weight=goal_weight,
        goal_weight_by_target=by_target,
        lacking=_rows_to_one(experiences.multi_hot(lacking_rows)),
        mentee_formats=_rows_to_one(
            formats.multi_hot([p.preferred_formats for p in mentees])
        ),
        learning_style=_style_codes(learning, [p.learning_style for p in mentees]),
        mentee_pattern=mentee_pattern,
        mentee_hours=np.array([p.hours_per_month for p in mentees], dtype=np.float64),
        mentee_level=np.array([p.level for p in mentees], dtype=np.int32),
        mentee_unit=units.codes([p.business_unit for p in mentees]),
        mentee_geo=geos.codes([p.geography for p in mentees]),
        mentee_function=functions.codes([p.function for p in mentees]),
        mentee_generation=generations.codes([p.generation for p in mentees]),
        mentee_languages=languages.multi_hot(
            [[fold(x) for x in p.languages] for p in mentees]
        ).astype(np.float32),
        strong=strong,
        reaches=reaches,
        experience=experiences.multi_hot(known_rows),
        mentor_formats=formats.multi_hot([p.formats for p in mentors]),
        leadership_style=_style_codes(leading, [p.leadership_style for p in mentors]),
        mentor_pattern=mentor_pattern,
        shared_hours=0.5 * (mentee_bits @ mentor_bits.T).astype(np.float64),
        hours_per_seat=np.array(
            [p.hours_per_month / max(p.capacity, 1) for p in mentors], dtype=np.float64
        ),
        mentor_level=np.array([p.level for p in mentors], dtype=np.int32),
        mentor_unit=units.codes([p.business_unit for p in mentors]),
        mentor_geo=geos.codes([p.geography for p in mentors]),
        mentor_function=functions.codes([p.function for p in mentors]),
        mentor_generation=generations.codes([p.generation for p in mentors]),
        mentor_languages=languages.multi_hot(
            [[fold(x) for x in p.languages] for p in mentors]
        ).astype(np.float32),
        capacity=np.array([p.remaining_capacity for p in mentors], dtype=np.int64),
        style_affinity=_affinity(learning, leading, config.style_affinity),
        learning_styles=learning,
        leadership_styles=leading,
    )
    report("encode", 2, 2)
    return encoded


def _rows_to_one(a: np.ndarray) -> np.ndarray:
    sums = a.sum(axis=1, keepdims=True)
    out: np.ndarray = np.divide(a, sums, out=np.zeros_like(a), where=sums > 0)
    return out


def _style_codes(vocabulary: Codes, items: Sequence[str | None]) -> np.ndarray:
    codes = vocabulary.codes(items)
    codes[codes < 0] = len(vocabulary.values)  # "not stated" is the last row/column
    return codes


def _affinity(
    learning: Codes, leading: Codes, table: Mapping[tuple[str, str], float]
) -> np.ndarray:
    out = np.full((len(learning.values) + 1, len(leading.values) + 1), 0.5)
    for r, ls in enumerate(learning.values):
        for c, lead in enumerate(leading.values):
            out[r, c] = table.get((ls, lead), 0.5)
    return out


def _patterns(
    people: Sequence[MenteeProfile | MentorProfile], monday: date
) -> tuple[np.ndarray, np.ndarray]:
    """Each person's weekly pattern number, and the distinct patterns (float32 bits).

    Most people share a handful of patterns (office hours in a few zones), so the
    shared hours of every pair come from one small (patterns x patterns) product.
    """
    number: dict[bytes, int] = {}
    bitmaps: list[np.ndarray] = []
    index = np.zeros(len(people), dtype=np.int64)
    for r, p in enumerate(people):
        bits = week_bitmap(p.time_zone, p.availability or OFFICE_HOURS, monday)
        key = bits.tobytes()
        if key not in number:
            number[key] = len(bitmaps)
            bitmaps.append(bits)
        index[r] = number[key]
    table = np.array(bitmaps, dtype=np.float32).reshape(len(bitmaps), WEEK_SLOTS)
    return index, table


@lru_cache(maxsize=4096)
def week_bitmap(zone: str, windows: tuple[Window, ...], monday: date) -> np.ndarray:
    """Half-hour UTC slots of the week of ``monday`` that the local windows cover.

    A slot counts when a window covers it entirely; the week wraps around (late
    Sunday in Tokyo is early Sunday or Saturday in UTC; the bitmap is cyclic).
    """
    tz = ZoneInfo(zone)
    bits = np.zeros(WEEK_SLOTS, dtype=bool)
    week_start = datetime.combine(monday, time(0), tzinfo=UTC)
    for w in windows:
        start_min, end_min = w.minutes
        day = monday + timedelta(days=w.weekday)
        local = datetime.combine(day, time(0), tzinfo=tz) + timedelta(minutes=start_min)
        start = int((local - week_start).total_seconds() // 60)
        first = -(-start // SLOT_MINUTES)  # ceiling: slots fully inside the window
        last = (start + end_min - start_min) // SLOT_MINUTES
        if last > first:
            bits[np.arange(first, last) % WEEK_SLOTS] = True
    bits.setflags(write=False)
    return bits
