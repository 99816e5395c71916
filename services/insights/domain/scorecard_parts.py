"""The scorecard's organisation (``scorecard_state.Org``) kept in parts, one per key.

``scorecard_state.fold`` reads every fact of a tenant in (time, id) order. Each of its
branches changes the state of ONE key only: a person (registration, roles, intakes,
outcomes), a cohort (its creation), a person in a cohort (admission, withdrawal), a
relationship (its start), a milestone, a feedback, a note, a rotation of a
relationship (an admission also names its cohort as begun: a set, so the union of
slices is the same whichever part names it). So the fold of all facts is the union
of the folds of each key's own facts, and each key can be kept on its own:

- a part holds its key's facts (id, type, time, data), in the fold's order
  (``scorecard_state.order``: when it happened, when recorded, id), and the slice of
  the organisation that ``fold`` gives for exactly those facts (``dump``);
- a new fact re-folds only its key's few facts (``with_fact``), so arrival order and
  duplicates change nothing, exactly as for the whole fold;
- the organisation is the merge of every part's slice (``assemble``), with no fact
  read or folded.

``tests/insights/test_read_models.py`` checks that cards computed from the assembled
parts equal cards computed from ``fold`` of the same facts, over varied histories
delivered in any order.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from json.encoder import encode_basestring_ascii
from typing import Any, Protocol, TypeVar

from chassis.events import JsonDict
from services.insights.domain.scorecard_state import (
    REFLECTIONS,
    Fact,
    Milestone,
    Org,
    Relationship,
    fold_in_order,
    order,
)

PERSON = (
    "PersonRegistered",
    "PersonDetailsUpdated",
    "ProgrammeRolesChanged",
    "IntakeSubmitted",
    "CareerOutcomeRecorded",
)
ADMISSION = ("ParticipantAdmitted", "ParticipantWithdrew")
MILESTONE = ("MilestoneSet", "MilestoneAchieved", "MilestoneMissed")
ROTATION = ("RotationAssigned", "RotationDebriefed")
NOTE = ("NoteWritten", "NoteDeleted")
# Every fact type the scorecard's fold reads (``scorecard_state._apply``).
EVENTS = (
    *PERSON,
    "CohortCreated",
    *ADMISSION,
    "RelationshipStarted",
    *MILESTONE,
    "FeedbackGiven",
    *NOTE,
    *ROTATION,
)
Part = list[Any]  # a fact as a part keeps it: [id, type, ISO time (UTC), data]


@dataclass(frozen=True)
class Kept:
    """A fact as ``fold`` reads it (``scorecard_state.Fact``); ``at``: its moment
    in UTC as ``isoformat()`` gives it, when known already."""

    id: str
    type: str
    time: datetime
    data: JsonDict
    at: str | None = None


class Placed(Fact, Protocol):
    """What a part keeps of a fact: a ``Kept``, or anything that reads like one
    (a rebuild's ``projections.facts.Kept``): a ``Fact`` with its moment's text."""

    @property
    def at(self) -> str | None: ...


# ``json.dumps(value, separators=(",", ":"))`` with one encoder (with options,
# ``json.dumps`` builds an encoder per call).
compact = json.JSONEncoder(separators=(",", ":")).encode
_string = encode_basestring_ascii  # a str as ``compact`` writes it


def _key(*parts: object) -> str:
    # ``compact([str(p) for p in parts])``, each string escaped by the encoder's own
    # function.
    return "[" + ",".join([_string(str(p)) for p in parts]) + "]"


def key_of(kind: str, data: JsonDict) -> str | None:
    """The key whose state the fact changes, or None when the fold ignores it."""
    get = data.get
    if kind in PERSON:
        return _key("person", get("person_id")) if get("person_id") else None
    if kind == "CohortCreated":
        return _key("cohort", get("cohort_id")) if get("cohort_id") else None
    if kind in ADMISSION:
        if get("cohort_id") and get("person_id"):
            return _key("admission", get("cohort_id"), get("person_id"))
        return None
    if kind == "RelationshipStarted":
        rid = get("relationship_id")
        return _key("relationship", rid) if rid else None
    if kind in MILESTONE:
        return _key("milestone", get("milestone_id")) if get("milestone_id") else None
    if kind == "FeedbackGiven":
        return _key("feedback", get("feedback_id")) if get("feedback_id") else None
    if kind == "NoteWritten" and get("kind") not in REFLECTIONS:
        return None
    if kind in NOTE:
        return _key("note", get("note_id")) if get("note_id") else None
    if kind in ROTATION:
        if get("relationship_id") and get("rotation_id"):
            return _key("rotation", get("relationship_id"), get("rotation_id"))
        return None
    return None


def utc(at: datetime) -> datetime:
    """The moment in UTC, as the facts table gives it back."""
    return at.astimezone(UTC)


def encode(fact: Placed) -> Part:
    return [fact.id, fact.type, fact.at or utc(fact.time).isoformat(), fact.data]


def decode(part: Part) -> Kept:
    ident, kind, at, data = part
    return Kept(ident, kind, datetime.fromisoformat(at), data, at)


def ordered(facts: Iterable[Kept]) -> list[Kept]:
    """The facts in the fold's order, each id once (the first kept, as the fold does)."""
    seen: set[str] = set()
    out: list[Kept] = []
    for f in sorted(facts, key=order):
        if f.id not in seen:
            seen.add(f.id)
            out.append(f)
    return out


# -- a slice of the organisation as JSON ------------------------------------------


def dump(org: Org) -> JsonDict:
    """The organisation as JSON (only what it holds: a part's slice holds one or two
    fields, so only those are written)."""
    out: JsonDict = {}
    if org.levels:
        out["levels"] = org.levels
    if org.roles:
        out["roles"] = {p: sorted(r) for p, r in org.roles.items()}
    if org.assessments:
        out["assessments"] = dict(org.assessments)
    if org.outcomes:
        out["outcomes"] = dict(org.outcomes)
    if org.cohorts:
        out["cohorts"] = sorted(org.cohorts)
    if org.admitted:
        out["admitted"] = {
            c: {p: d.isoformat() for p, d in people.items()}
            for c, people in org.admitted.items()
        }
    if org.withdrawn:
        out["withdrawn"] = {c: sorted(p) for c, p in org.withdrawn.items()}
    if org.admitted_any:
        out["admitted_any"] = sorted(org.admitted_any)
    if org.relationships:
        out["relationships"] = {
            r: [v.mentee_id, v.mentor_id, v.cohort_id, v.starts_on.isoformat()]
            for r, v in org.relationships.items()
        }
    if org.milestones:
        out["milestones"] = {
            m: [
                v.relationship_id,
                v.due_on.isoformat() if v.due_on else None,
                v.achieved,
                v.on_time,
                v.missed,
            ]
            for m, v in org.milestones.items()
        }
    if org.ratings:
        out["ratings"] = {
            r: {f: [t.isoformat(), i, n] for f, (t, i, n) in by.items()}
            for r, by in org.ratings.items()
        }
    if org.notes:
        out["notes"] = {n: list(v) for n, v in org.notes.items()}
    if org.deleted_notes:
        out["deleted_notes"] = sorted(org.deleted_notes)
    if org.rotations:
        out["rotations"] = {r: sorted(v) for r, v in org.rotations.items()}
    if org.debriefs:
        out["debriefs"] = {r: sorted(v) for r, v in org.debriefs.items()}
    return out


def _roles(org: Org, value: Any) -> None:
    for p, roles in value.items():
        org.roles[p] |= set(roles)


def _outcomes(org: Org, value: Any) -> None:
    for p, outcomes in value.items():
        org.outcomes[p].update(outcomes)


def _admitted(org: Org, value: Any) -> None:
    for c, people in value.items():
        org.admitted[c].update({p: date.fromisoformat(d) for p, d in people.items()})


def _withdrawn(org: Org, value: Any) -> None:
    for c, people in value.items():
        org.withdrawn[c].update(people)


def _relationships(org: Org, value: Any) -> None:
    for r, (mentee, mentor, cohort, starts) in value.items():
        org.relationships[r] = Relationship(
            mentee, mentor, cohort, date.fromisoformat(starts)
        )


def _milestones(org: Org, value: Any) -> None:
    for m, (rel, due, achieved, on_time, missed) in value.items():
        org.milestones[m] = Milestone(
            rel, date.fromisoformat(due) if due else None, achieved, on_time, missed
        )


def _ratings(org: Org, value: Any) -> None:
    for r, by in value.items():
        org.ratings[r].update(
            {f: (datetime.fromisoformat(t), i, n) for f, (t, i, n) in by.items()}
        )


def _notes(org: Org, value: Any) -> None:
    for n, (rel, who) in value.items():
        org.notes[n] = (rel, who)


def _rotations(org: Org, value: Any) -> None:
    for r, rotations in value.items():
        org.rotations[r].update(rotations)


def _debriefs(org: Org, value: Any) -> None:
    for r, rotations in value.items():
        org.debriefs[r].update(rotations)


# How each field of a slice (``dump``) adds to the organisation.
MERGE: dict[str, Callable[[Org, Any], None]] = {
    "levels": lambda org, v: org.levels.update(v),
    "roles": _roles,
    "assessments": lambda org, v: org.assessments.update(v),
    "outcomes": _outcomes,
    "cohorts": lambda org, v: org.cohorts.update(v),
    "admitted": _admitted,
    "withdrawn": _withdrawn,
    "admitted_any": lambda org, v: org.admitted_any.update(v),
    "relationships": _relationships,
    "milestones": _milestones,
    "ratings": _ratings,
    "notes": _notes,
    "deleted_notes": lambda org, v: org.deleted_notes.update(v),
    "rotations": _rotations,
    "debriefs": _debriefs,
}


def merge(org: Org, part: JsonDict) -> None:
    """Add one part's slice to ``org`` (slices of different keys never overlap)."""
    for field, value in part.items():
        MERGE[field](org, value)


def assemble(slices: Iterable[JsonDict | None]) -> Org | None:
    """The organisation from its parts' slices: the fold of all their facts; None
    when a part's facts do not fold (``state_of``)."""
    org = Org()
    for part in slices:
        if part is None:
            return None
        merge(org, part)
    return org


# -- keeping a part ----------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """A part as its row keeps it: facts, the slice they fold to (None when the fold
    fails on them: a fact lacks a field it reads), the latest moment (of recording
    or of happening: a reader "now" before a fact dated ahead folds the facts up to
    now instead of taking the slice)."""

    facts: list[Part]
    slice: JsonDict | None
    latest: str


P = TypeVar("P", bound=Placed)


def _settle(facts: Iterable[P]) -> tuple[list[P], JsonDict | None, str]:
    """A part's facts in the fold's order (each id once), the slice they fold to
    (None when they do not fold) and their latest moment (``state_of``)."""
    # ``ordered`` with each fact's place computed once (its effective moment is
    # read again for ``latest``): sorted stably by it, each id once (the first).
    placed = sorted(((order(f), f) for f in facts), key=lambda p: p[0])
    seen: set[str] = set()
    kept: list[P] = []
    latest: datetime | None = None
    for (at, recorded, ident), f in placed:
        if ident in seen:
            continue
        seen.add(ident)
        kept.append(f)
        moment = utc(max(recorded, at))
        if latest is None or moment > latest:
            latest = moment
    assert latest is not None, "a part has facts"
    try:
        # Already in the fold's order, each id once: nothing to sort again.
        folded: JsonDict | None = dump(fold_in_order(kept))
    except (KeyError, TypeError, ValueError, AttributeError):
        folded = None
    return kept, folded, latest.isoformat()


def state_of(facts: Iterable[Placed]) -> State:
    """A part of ``facts`` (all of one key).

    A fact the fold cannot read (a field missing, say) is kept all the same, as the
    facts table keeps it, with no slice: whoever reads the organisation then folds the
    facts and meets the same error as before (``assemble`` answers None), and the
    event is never refused for it."""
    kept, folded, latest = _settle(facts)
    return State(facts=[encode(f) for f in kept], slice=folded, latest=latest)


def with_fact(facts: list[Part], fact: Kept) -> State | None:
    """The part after ``fact`` arrives; None when it holds that fact already."""
    known = [decode(p) for p in facts]
    if any(f.id == fact.id for f in known):
        return None
    return state_of([*known, fact])


def with_facts(facts: list[Part], new: Iterable[Kept]) -> State | None:
    """The part after ``new`` arrive one after another (``with_fact`` of each in
    turn, folded once); None when it holds every one of them already."""
    known = [decode(p) for p in facts]
    ids = {f.id for f in known}
    added: list[Kept] = []
    for fact in new:
        if fact.id not in ids:
            ids.add(fact.id)
            added.append(fact)
    return state_of([*known, *added]) if added else None


def parts_of(facts: Iterable[Placed]) -> dict[str, State]:
    """Every part of a tenant's facts (a rebuild's fold, in memory)."""
    by_key: dict[str, list[Placed]] = {}
    for f in facts:
        key = key_of(f.type, f.data)
        if key is not None:
            by_key.setdefault(key, []).append(f)
    return {key: state_of(kept) for key, kept in by_key.items()}


class Written(Placed, Protocol):
    """A fact as a rebuild reads it, with its data as the facts table keeps it."""

    @property
    def text(self) -> str: ...


def written_parts_of(facts: Iterable[Written]) -> dict[str, tuple[str, str, str]]:
    """``parts_of`` as the table keeps each part: its facts and slice as ``compact``
    JSON, and its latest moment. A fact's data is taken as the facts table keeps it
    when that is ``compact``'s own text (no space: ``json.dumps`` with compact
    separators wrote it, and gives it again; JSONB's text has a space after every
    colon), else encoded again."""
    by_key: dict[str, list[Written]] = {}
    for f in facts:
        key = key_of(f.type, f.data)
        if key is not None:
            found = by_key.get(key)
            if found is None:
                by_key[key] = [f]
            else:
                found.append(f)
    out: dict[str, tuple[str, str, str]] = {}
    string = _string
    for key, mine in by_key.items():
        kept, folded, latest = _settle(mine)
        written = [
            "["
            + string(f.id)
            + ","
            + string(f.type)
            + ","
            + string(f.at or utc(f.time).isoformat())
            + ","
            + (f.text if f.text and " " not in f.text else compact(f.data))
            + "]"
            for f in kept
        ]
        out[key] = ("[" + ",".join(written) + "]", compact(folded), latest)
    return out
