"""What insights keeps of a person once they are erased: a pseudonym, nothing else.

An erased person's id is replaced everywhere by ``erased-<random>`` (one per erasure);
the read models count no such id as an individual (no equity row, no participant or
mentee of a scorecard), while the other side of a pairing or relationship keeps the
figures the pair made together.
"""

from __future__ import annotations

from typing import TypeVar, cast

from chassis.events import JsonDict

ERASED_PREFIX = "erased-"
# The keys naming whom an event is about (its author, its subject): such an event is
# the person's own, and leaves with them. Every other key naming them is the other
# side's record and keeps a pseudonym instead.
OWN_KEYS = ("person_id", "advisor_id", "author_id")
J = TypeVar("J")  # a JSON value (decoded: dicts, lists, strings, numbers, None)


def is_erased(person_id: object) -> bool:
    """Whether ``person_id`` is the pseudonym of an erased person."""
    return isinstance(person_id, str) and person_id.startswith(ERASED_PREFIX)


def belongs_to(data: JsonDict, person_id: str) -> bool:
    """Whether the event is the person's own (about them, or written by them)."""
    return any(data.get(key) == person_id for key in OWN_KEYS)


def strings_in(value: object) -> set[str]:
    """Every string of a JSON value (keys and values, at any depth): a new set."""
    out: set[str] = set()
    _collect(value, out)
    return out


def _collect(value: object, out: set[str]) -> None:
    if isinstance(value, str):
        out.add(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            out.add(str(k))
            if isinstance(v, str):  # most values: no call for them
                out.add(v)
            elif isinstance(v, (dict, list)):
                _collect(v, out)
    elif isinstance(value, list):
        for v in value:
            _collect(v, out)


def replace_id(value: J, person_id: str, pseudonym: str) -> J:
    """``value`` (a JSON value) with every string equal to ``person_id`` replaced."""
    return cast(J, _replaced(value, person_id, pseudonym))


def _replaced(value: object, person_id: str, pseudonym: str) -> object:
    if value == person_id:
        return pseudonym
    if isinstance(value, dict):
        return {
            (pseudonym if k == person_id else k): _replaced(v, person_id, pseudonym)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_replaced(v, person_id, pseudonym) for v in value]
    return value
