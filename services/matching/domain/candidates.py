"""The people a matching round pairs, as the matching domain sees them.

Plain frozen dataclasses built from what the profiles service publishes (person
attributes, ``MentorProfileSet``, ``IntakeSubmitted``, consented demographics): only
pseudonymous ids and organisational attributes, never names. ``from_records`` builds
them from the payload dictionaries the matching service keeps in its candidate view.
Constructing one with out-of-range values raises ``ValidationFailed`` naming every bad
field, so nothing downstream has to re-check the input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, TypedDict, Unpack
from zoneinfo import available_timezones

from chassis.errors import FieldError, ValidationFailed
from services.matching.domain.decoded import JsonObject

MentorKind = Literal["internal", "reverse", "external"]
MENTOR_KINDS: tuple[str, ...] = ("internal", "reverse", "external")
FORMATS: tuple[str, ...] = ("one_to_one", "group", "shadowing", "project")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
_ZONES: set[str] = set()


def _known_zone(name: str) -> bool:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return name in _ZONES


class PairRef(NamedTuple):
    """A (mentee, mentor) pair named by person ids, in that order."""

    mentee_id: str
    mentor_id: str


@dataclass(frozen=True)
class Goal:
    """A competency the mentee wants to grow, from ``current`` to ``target`` (1-5)."""

    competency_id: str
    current: int
    target: int

    @property
    def gap(self) -> int:
        return max(0, self.target - self.current)


@dataclass(frozen=True)
class Window:
    """A weekly availability window in the person's local time (0 = Monday)."""

    weekday: int
    start: str
    end: str

    @property
    def minutes(self) -> tuple[int, int]:
        sh, sm = self.start.split(":")
        eh, em = self.end.split(":")
        return int(sh) * 60 + int(sm), int(eh) * 60 + int(em)


@dataclass(frozen=True)
class Person:
    """Organisational attributes both sides share."""

    person_id: str
    level: int
    business_unit: str
    function: str
    geography: str
    time_zone: str
    manager_id: str | None = None
    # Managers above ``manager_id``, nearest first, when the organisation chart is
    # known: the reporting-line rule then covers the whole chain, not one step.
    reporting_chain: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    availability: tuple[Window, ...] = ()
    generation: str | None = None  # consented self-report only
    demographics: Mapping[str, str] = field(default_factory=dict)  # consented only

    def _problems(self) -> list[FieldError]:
        found: list[FieldError] = []
        if not self.person_id:
            found.append(FieldError("person_id", "must not be empty"))
        if not 1 <= self.level <= 12:
            found.append(FieldError("level", "must be between 1 and 12"))
        if not _known_zone(self.time_zone):
            found.append(FieldError("time_zone", f"unknown zone {self.time_zone!r}"))
        for n, w in enumerate(self.availability):
            where = f"availability[{n}]"
            if not 0 <= w.weekday <= 6:
                found.append(FieldError(f"{where}.weekday", "must be 0-6"))
            if not (_HHMM.match(w.start) and _HHMM.match(w.end)):
                found.append(FieldError(where, "start and end must be HH:MM"))
            elif w.minutes[1] <= w.minutes[0]:
                found.append(FieldError(where, "must end after it starts"))
        return found

    @property
    def managers(self) -> tuple[str, ...]:
        """Everyone above this person in the reporting line, as far as known."""
        line = (self.manager_id,) if self.manager_id else ()
        return line + tuple(p for p in self.reporting_chain if p != self.manager_id)


@dataclass(frozen=True)
class MenteeProfile(Person):
    """A person asking for a mentor, with what their intake said."""

    goals: tuple[Goal, ...] = ()
    experiences_lacking: tuple[str, ...] = ()
    learning_style: str | None = None
    preferred_formats: tuple[str, ...] = ()
    hours_per_month: int = 0

    def __post_init__(self) -> None:
        found = self._problems()
        for n, g in enumerate(self.goals):
            if not (1 <= g.current <= 5 and 1 <= g.target <= 5):
                found.append(FieldError(f"goals[{n}]", "current and target are 1-5"))
        for f in self.preferred_formats:
            if f not in FORMATS:
                found.append(FieldError("preferred_formats", f"unknown format {f!r}"))
        if self.hours_per_month < 0:
            found.append(FieldError("hours_per_month", "must not be negative"))
        _raise(found, self.person_id)

    @property
    def growth_goals(self) -> tuple[Goal, ...]:
        return tuple(g for g in self.goals if g.gap > 0)

    @classmethod
    def from_records(
        cls,
        person: JsonObject,
        intake: JsonObject | None = None,
        demographics: Mapping[str, str] | None = None,
    ) -> MenteeProfile:
        """From ``PersonAttributes`` and ``IntakeSubmitted`` payload dictionaries."""
        intake = intake or {}
        return cls(
            **_person_fields(person, demographics),
            goals=tuple(
                Goal(g["competency_id"], int(g["current"]), int(g["target"]))
                for g in intake.get("goals", ())
            ),
            experiences_lacking=tuple(intake.get("experiences_lacking", ())),
            learning_style=intake.get("learning_style"),
            preferred_formats=tuple(intake.get("preferred_formats", ())),
            hours_per_month=int(intake.get("hours_per_month", 0)),
        )


@dataclass(frozen=True)
class MentorProfile(Person):
    """A person offering mentoring: strengths, experience, style and seats."""

    strengths: Mapping[str, int] = field(default_factory=dict)  # competency → 1-5
    industries: tuple[str, ...] = ()
    markets: tuple[str, ...] = ()
    functions_led: tuple[str, ...] = ()
    crisis_experience: tuple[str, ...] = ()
    leadership_style: str | None = None
    formats: tuple[str, ...] = ()
    capacity: int = 1  # max_mentees
    active_mentees: int = 0  # seats already taken by running pairings
    hours_per_month: int = 0
    kind: MentorKind = "internal"
    active: bool = True

    def __post_init__(self) -> None:
        found = self._problems()
        for competency, p in self.strengths.items():
            if not 1 <= p <= 5:
                found.append(FieldError(f"strengths.{competency}", "must be 1-5"))
        for f in self.formats:
            if f not in FORMATS:
                found.append(FieldError("formats", f"unknown format {f!r}"))
        if self.capacity < 0 or self.active_mentees < 0:
            found.append(FieldError("capacity", "must not be negative"))
        if self.hours_per_month < 0:
            found.append(FieldError("hours_per_month", "must not be negative"))
        if self.kind not in MENTOR_KINDS:
            found.append(FieldError("kind", f"one of {', '.join(MENTOR_KINDS)}"))
        _raise(found, self.person_id)

    @property
    def remaining_capacity(self) -> int:
        """Seats a round may still fill; none for an inactive mentor."""
        return max(0, self.capacity - self.active_mentees) if self.active else 0

    def experience_kinds(self) -> dict[str, str]:
        """Each experience token (folded) → which kind of experience it is."""
        kinds: dict[str, str] = {}
        for label, items in (
            ("crisis", self.crisis_experience),
            ("market", self.markets),
            ("function", self.functions_led),
            ("industry", self.industries),
        ):
            for item in items:
                kinds.setdefault(fold(item), label)
        return kinds

    @classmethod
    def from_records(
        cls,
        person: JsonObject,
        profile: JsonObject,
        demographics: Mapping[str, str] | None = None,
        **extra: Unpack[MentorExtras],
    ) -> MentorProfile:
        """From ``PersonAttributes`` and ``MentorProfileSet`` payload dictionaries."""
        # A reverse mentor who is also a mentor stays "internal": reverse programmes
        # use internal mentors too (the seniority rule picks the junior ones).
        roles = set(person.get("roles", ()))
        only_reverse = "reverse_mentor" in roles and "mentor" not in roles
        extra.setdefault("kind", "reverse" if only_reverse else "internal")
        return cls(
            **_person_fields(person, demographics),
            availability=tuple(
                Window(int(w["weekday"]), w["start"], w["end"])
                for w in profile.get("availability", ())
            ),
            strengths={
                s["competency_id"]: int(s["proficiency"])
                for s in profile.get("strengths", ())
            },
            industries=tuple(profile.get("industries", ())),
            markets=tuple(profile.get("markets", ())),
            functions_led=tuple(profile.get("functions_led", ())),
            crisis_experience=tuple(profile.get("crisis_experience", ())),
            leadership_style=profile.get("leadership_style"),
            formats=tuple(profile.get("formats", ())),
            capacity=int(profile.get("max_mentees", 0)),
            hours_per_month=int(profile.get("hours_per_month", 0)),
            **extra,
        )


def fold(token: str) -> str:
    """How experience and language tokens compare: case- and space-insensitive."""
    return " ".join(token.casefold().split())


class PersonFields(TypedDict):
    """The ``Person`` fields read from a ``PersonAttributes`` payload."""

    person_id: str
    level: int
    business_unit: str
    function: str
    geography: str
    time_zone: str
    manager_id: str | None
    reporting_chain: tuple[str, ...]
    languages: tuple[str, ...]
    generation: str | None
    demographics: Mapping[str, str]


class MentorExtras(TypedDict, total=False):
    """What a caller of ``MentorProfile.from_records`` knows beyond the payloads."""

    kind: MentorKind
    active_mentees: int


def _person_fields(
    person: JsonObject, demographics: Mapping[str, str] | None
) -> PersonFields:
    consented = dict(demographics or {})
    return {
        "person_id": person["person_id"],
        "level": int(person["level"]),
        "business_unit": person["business_unit"],
        "function": person["function"],
        "geography": person["geography"],
        "time_zone": person["time_zone"],
        "manager_id": person.get("manager_id"),
        "reporting_chain": tuple(person.get("reporting_chain", ())),
        "languages": tuple(person.get("languages", ())),
        "generation": consented.get("generation"),
        "demographics": consented,
    }


def _raise(found: list[FieldError], person_id: str) -> None:
    if found:
        raise ValidationFailed(
            [FieldError(f"{person_id}.{e.path}", e.message) for e in found]
        )


def reporting_chains(
    people: Iterable[str], manager_of: Mapping[str, str | None]
) -> dict[str, tuple[str, ...]]:
    """Each person's managers, nearest first, up to the top of the known chart.

    ``manager_of`` maps a person to their direct manager. A chart with a cycle (A
    reports to B who reports to A, an HRIS import error) ends the chain where it
    would repeat a person, so every walk stops after at most ``len(manager_of)``
    steps; nobody is their own manager.
    """
    chains: dict[str, tuple[str, ...]] = {}
    for person in people:
        seen = {person}
        chain: list[str] = []
        boss = manager_of.get(person)
        while boss and boss not in seen:
            chain.append(boss)
            seen.add(boss)
            boss = manager_of.get(boss)
        chains[person] = tuple(chain)
    return chains


def unique_ids(people: Iterable[Person], what: str) -> None:
    """Refuse a cohort that lists the same person twice on one side."""
    seen: set[str] = set()
    dupes: set[str] = set()
    for p in people:
        (dupes if p.person_id in seen else seen).add(p.person_id)
    if dupes:
        raise ValidationFailed(
            [FieldError(what, f"listed more than once: {', '.join(sorted(dupes))}")]
        )
