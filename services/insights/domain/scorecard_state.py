"""The organisation as the facts describe it, for the scorecard (pure, no framework).

``fold`` reads facts in the order they happened (``order``: effective moment, then
recording, then id; ``domain.effective``) and keys everything by the facts' own ids
(milestone, feedback, note, rotation ids), so duplicate or reordered delivery
folds to the same state. "As of" a moment it folds the facts that had happened by
then, whenever they were recorded: an intake assessed last spring is a baseline
before one assessed in the autumn, an admission counts from its ``admitted_on``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol

from chassis.events import JsonDict
from services.insights.domain.effective import effective_at
from services.insights.domain.erasure import is_erased

REFLECTIONS = frozenset({"journal", "after_action_review"})
PROGRAMME_ROLES = frozenset({"mentee", "mentor", "reverse_mentor"})
MIN_COMPARISON = 5


class Fact(Protocol):
    """A fact as the fold reads it (``chassis.envelope.Envelope`` is one)."""

    @property
    def id(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def time(self) -> datetime: ...

    @property
    def data(self) -> JsonDict: ...


@dataclass
class Relationship:
    mentee_id: str
    mentor_id: str
    cohort_id: str | None
    starts_on: date


@dataclass
class Milestone:
    relationship_id: str
    due_on: date | None = None
    achieved: bool = False
    on_time: bool = False
    missed: bool = False


@dataclass
class Org:
    """What the facts say, folded once per request."""

    levels: dict[str, int] = field(default_factory=dict)
    roles: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    assessments: dict[str, list[list[JsonDict]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    outcomes: dict[str, dict[str, JsonDict]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    cohorts: set[str] = field(default_factory=set)
    admitted: dict[str, dict[str, date]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    withdrawn: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    admitted_any: set[str] = field(default_factory=set)
    relationships: dict[str, Relationship] = field(default_factory=dict)
    milestones: dict[str, Milestone] = field(default_factory=dict)
    ratings: dict[str, dict[str, tuple[datetime, str, int]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    notes: dict[str, tuple[str, str]] = field(default_factory=dict)  # id→(rel, who)
    deleted_notes: set[str] = field(default_factory=set)
    rotations: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    debriefs: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def participants(self) -> set[str]:
        people = set(self.admitted_any)
        for r in self.relationships.values():
            people |= {r.mentee_id, r.mentor_id}
        people |= {p for p, rs in self.roles.items() if rs & PROGRAMME_ROLES}
        return {p for p in people if not is_erased(p)}

    def mentees(self) -> set[str]:
        admitted = {p for c in self.admitted.values() for p in c}
        mentees = admitted | {r.mentee_id for r in self.relationships.values()}
        return {p for p in mentees if not is_erased(p)}

    def start_of(self, person: str) -> date | None:
        starts = [c[person] for c in self.admitted.values() if person in c]
        starts += [
            r.starts_on for r in self.relationships.values() if r.mentee_id == person
        ]
        return min(starts, default=None)


def day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def happened(f: Fact) -> datetime:
    """When the fact happened (``domain.effective``)."""
    return effective_at(f.type, f.data, f.time)


def order(f: Fact) -> tuple[datetime, datetime, str]:
    """The fold's order: when it happened, then when it was recorded, then its id."""
    return happened(f), f.time, f.id


def fold_in_order(facts: Iterable[Fact]) -> Org:
    """``fold`` of facts already in the fold's order, each id once (``fold`` sorts
    and skips repeats first; here there is nothing to sort or skip)."""
    org = Org()
    for f in facts:
        _apply(org, f)
    return org


def fold(facts: Iterable[Fact], until: datetime | None = None) -> Org:
    """Fold facts (any order, duplicates allowed) into the organisation's state; with
    ``until``, only those that had happened by then (whenever recorded)."""
    org = Org()
    seen: set[str] = set()
    for f in sorted(facts, key=order):
        if f.id in seen:
            continue
        seen.add(f.id)
        if until is not None and happened(f) > until:
            continue
        _apply(org, f)
    return org


def _apply(org: Org, f: Fact) -> None:  # one branch per event type
    d, kind = f.data, f.type
    if kind in ("PersonRegistered", "PersonDetailsUpdated"):
        org.levels.setdefault(d["person_id"], int(d["level"]))
        org.roles[d["person_id"]] |= set(d.get("roles") or ())
    elif kind == "ProgrammeRolesChanged":
        org.roles[d["person_id"]] |= set(d.get("roles") or ())
    elif kind == "IntakeSubmitted":
        org.assessments[d["person_id"]].append(list(d.get("goals") or ()))
    elif kind == "CareerOutcomeRecorded":
        org.outcomes[d["person_id"]][f.id] = d
    elif kind == "CohortCreated":
        org.cohorts.add(d["cohort_id"])
    elif kind == "ParticipantAdmitted":
        org.cohorts.add(d["cohort_id"])  # it had begun by its first admission
        org.admitted_any.add(d["person_id"])
        if d.get("role") == "mentee":
            org.admitted[d["cohort_id"]].setdefault(
                d["person_id"], happened(f).astimezone(UTC).date()
            )
    elif kind == "ParticipantWithdrew":
        org.withdrawn[d["cohort_id"]].add(d["person_id"])
    elif kind == "RelationshipStarted":
        org.relationships.setdefault(
            d["relationship_id"],
            Relationship(
                d["mentee_id"], d["mentor_id"], d.get("cohort_id"), day(d["starts_on"])
            ),
        )
    elif kind.startswith("Milestone") and kind != "MilestoneProgressed":
        m = org.milestones.setdefault(
            d["milestone_id"], Milestone(d["relationship_id"])
        )
        if kind == "MilestoneSet":
            m.due_on = day(d["due_on"])
        elif kind == "MilestoneAchieved":
            m.achieved, m.on_time = True, bool(d["on_time"])
        elif kind == "MilestoneMissed":
            m.missed = True
            m.due_on = m.due_on or day(d["due_on"])
    elif kind == "FeedbackGiven":
        org.ratings[d["relationship_id"]][d["feedback_id"]] = (
            happened(f),
            f.id,
            int(d["rating"]),
        )
    elif kind == "NoteWritten" and d.get("kind") in REFLECTIONS:
        org.notes[d["note_id"]] = (d["relationship_id"], d["author_id"])
    elif kind == "NoteDeleted":
        org.deleted_notes.add(d["note_id"])
    elif kind == "RotationAssigned":
        org.rotations[d["relationship_id"]].add(d["rotation_id"])
    elif kind == "RotationDebriefed":
        org.debriefs[d["relationship_id"]].add(d["rotation_id"])
