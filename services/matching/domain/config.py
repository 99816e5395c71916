"""How a cohort wants its pairs made: criterion weights, rules, mode, fairness.

One ``MatchingConfig`` per cohort (or per round). Every field has a default a
programme owner can start from; ``MatchingConfig.for_programme`` picks the weights and
rules that suit each programme type. ``validated()`` refuses nonsense with a typed
``ValidationFailed`` listing every bad field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TypedDict, Unpack

from chassis.errors import FieldError, ValidationFailed
from contracts.matching import Criterion, Mode, ProgrammeType

PROGRAMME_TYPES: tuple[str, ...] = tuple(ProgrammeType)
MODES: tuple[str, ...] = tuple(Mode)

# The scoring criteria, in the (fixed) order in which a total is summed.
CRITERIA: tuple[str, ...] = tuple(Criterion)
CRITERION_TITLES: dict[str, str] = {
    "skills": "Skill complementarity",
    "experience": "Experiential breadth",
    "perspective": "Perspective diversity",
    "style": "Style fit",
    "formats": "Format overlap",
    "availability": "Availability",
    "goals": "Goal alignment",
}

# Why each programme weighs what it weighs:
# - standard: growth first (skills and goal alignment), then breadth and perspective.
# - reverse: the junior mentor is chosen for what the senior wants to learn
#   (technology, customer, culture), and for the different vantage point they bring.
# - external: an advisor is hired for experience the organisation lacks.
# - group: one mentor for several people with shared goals; formats matter more.
PRESET_WEIGHTS: dict[str, dict[str, float]] = {
    "standard": {
        "skills": 0.30,
        "experience": 0.15,
        "perspective": 0.15,
        "style": 0.10,
        "formats": 0.05,
        "availability": 0.10,
        "goals": 0.15,
    },
    "reverse": {
        "skills": 0.35,
        "experience": 0.05,
        "perspective": 0.20,
        "style": 0.05,
        "formats": 0.05,
        "availability": 0.15,
        "goals": 0.15,
    },
    "external": {
        "skills": 0.30,
        "experience": 0.25,
        "perspective": 0.05,
        "style": 0.05,
        "formats": 0.05,
        "availability": 0.15,
        "goals": 0.15,
    },
    "group": {
        "skills": 0.25,
        "experience": 0.05,
        "perspective": 0.10,
        "style": 0.05,
        "formats": 0.15,
        "availability": 0.15,
        "goals": 0.25,
    },
}

# Which kinds of mentor each programme pairs from.
MENTOR_KINDS_FOR: dict[str, frozenset[str]] = {
    "standard": frozenset({"internal"}),
    "reverse": frozenset({"reverse", "internal"}),
    "external": frozenset({"external"}),
    "group": frozenset({"internal", "external"}),
}

# How well a mentee's learning style suits a mentor's leadership style (0-1).
# Pairs not listed, or a style nobody stated, count as a neutral 0.5.
DEFAULT_STYLE_AFFINITY: dict[tuple[str, str], float] = {
    ("reflective", "coaching"): 1.0,
    ("reflective", "facilitative"): 0.9,
    ("reflective", "analytical"): 0.7,
    ("reflective", "visionary"): 0.6,
    ("reflective", "pragmatic"): 0.5,
    ("reflective", "directive"): 0.3,
    ("experiential", "pragmatic"): 1.0,
    ("experiential", "coaching"): 0.7,
    ("experiential", "directive"): 0.7,
    ("experiential", "visionary"): 0.6,
    ("experiential", "facilitative"): 0.6,
    ("experiential", "analytical"): 0.4,
    ("structured", "analytical"): 1.0,
    ("structured", "directive"): 0.8,
    ("structured", "pragmatic"): 0.7,
    ("structured", "coaching"): 0.6,
    ("structured", "facilitative"): 0.5,
    ("structured", "visionary"): 0.3,
    ("conceptual", "visionary"): 1.0,
    ("conceptual", "analytical"): 0.8,
    ("conceptual", "coaching"): 0.6,
    ("conceptual", "facilitative"): 0.6,
    ("conceptual", "pragmatic"): 0.4,
    ("conceptual", "directive"): 0.3,
    ("social", "facilitative"): 1.0,
    ("social", "coaching"): 0.9,
    ("social", "visionary"): 0.7,
    ("social", "pragmatic"): 0.6,
    ("social", "directive"): 0.4,
    ("social", "analytical"): 0.4,
}


@dataclass(frozen=True)
class RuleSettings:
    """Optional per-cohort rules, on top of the hard ones that always apply.

    Hard rules (not switchable): never the mentee's own reporting line, up or down;
    never over a mentor's remaining capacity; never a pair a coordinator forbade;
    never a person with themself.
    """

    different_business_unit: bool = False
    shared_language: bool = False
    # Mentor at least ``min_level_gap`` levels above the mentee (standard, group) or
    # below (reverse); not applied to external advisors.
    seniority: bool = True
    min_level_gap: int = 1
    min_overlap_hours: float = 0.0  # weekly shared availability the pair needs
    mentor_kinds: frozenset[str] | None = None  # None: MENTOR_KINDS_FOR[programme]


@dataclass(frozen=True)
class FairnessSettings:
    """Keep every group's mean match quality within ``min_ratio`` of the best's.

    ``group_by`` names a group key (``business_unit``, ``level_band``, ``geography``,
    ``function`` or ``demographics.<attribute>``, the latter for consenting people
    only). Groups smaller than ``min_group_size`` are neither reported nor
    constrained: their means are noise and reporting them would single people out.
    """

    group_by: str = "business_unit"
    min_ratio: float = 0.9
    min_group_size: int = 5
    max_iterations: int = 8
    unmatched_counts_as_zero: bool = True


class ConfigChanges(TypedDict, total=False):
    """What a programme's configuration may set beyond its preset."""

    weights: Mapping[str, float]
    mode: Mode
    rules: RuleSettings
    min_score: float
    fairness: FairnessSettings | None
    target_overlap_hours: float
    style_affinity: Mapping[tuple[str, str], float]
    availability_week: date


@dataclass(frozen=True)
class MatchingConfig:
    programme_type: ProgrammeType = ProgrammeType.STANDARD
    weights: Mapping[str, float] = field(default_factory=dict)  # empty: the preset
    mode: Mode = Mode.QUALITY
    rules: RuleSettings = field(default_factory=RuleSettings)
    min_score: float = 0.0
    fairness: FairnessSettings | None = None
    # Weekly shared hours at which the overlap part of availability is full.
    target_overlap_hours: float = 5.0
    style_affinity: Mapping[tuple[str, str], float] = field(
        default_factory=lambda: dict(DEFAULT_STYLE_AFFINITY)
    )
    # The week whose time-zone offsets (summer or winter time) availability uses.
    availability_week: date = date(2026, 1, 5)

    @classmethod
    def for_programme(
        cls, programme_type: ProgrammeType, **overrides: Unpack[ConfigChanges]
    ) -> MatchingConfig:
        return cls(programme_type=programme_type, **overrides).validated()

    @property
    def normalised_weights(self) -> dict[str, float]:
        """Weights summing to 1, so a total score is in [0, 1]."""
        raw = dict(self.weights) or PRESET_WEIGHTS[self.programme_type]
        total = sum(raw.get(c, 0.0) for c in CRITERIA)
        return {c: raw.get(c, 0.0) / total for c in CRITERIA}

    @property
    def mentor_kinds(self) -> frozenset[str]:
        return self.rules.mentor_kinds or MENTOR_KINDS_FOR[self.programme_type]

    @property
    def monday(self) -> date:
        return self.availability_week - timedelta(days=self.availability_week.weekday())

    def validated(self) -> MatchingConfig:
        found: list[FieldError] = []
        if self.programme_type not in PROGRAMME_TYPES:
            found.append(FieldError("programme_type", f"one of {PROGRAMME_TYPES}"))
        if self.mode not in MODES:
            found.append(FieldError("mode", f"one of {MODES}"))
        unknown = sorted(set(self.weights) - set(CRITERIA))
        if unknown:
            found.append(FieldError("weights", f"unknown criteria {unknown}"))
        if any(w < 0 for w in self.weights.values()):
            found.append(FieldError("weights", "must not be negative"))
        elif self.weights and sum(self.weights.values()) <= 0:
            found.append(FieldError("weights", "at least one must be positive"))
        if not 0 <= self.min_score <= 1:
            found.append(FieldError("min_score", "must be between 0 and 1"))
        if self.target_overlap_hours <= 0:
            found.append(FieldError("target_overlap_hours", "must be positive"))
        if any(not 0 <= v <= 1 for v in self.style_affinity.values()):
            found.append(FieldError("style_affinity", "values must be 0-1"))
        if self.rules.min_level_gap < 0 or self.rules.min_overlap_hours < 0:
            found.append(FieldError("rules", "gaps and hours must not be negative"))
        f = self.fairness
        if f is not None:
            if not 0 < f.min_ratio <= 1:
                found.append(FieldError("fairness.min_ratio", "must be in (0, 1]"))
            if f.min_group_size < 1 or f.max_iterations < 0:
                found.append(FieldError("fairness", "sizes must be positive"))
        if found:
            raise ValidationFailed(found)
        return self

    def with_(self, **changes: Unpack[ConfigChanges]) -> MatchingConfig:
        return replace(self, **changes).validated()
