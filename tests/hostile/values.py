"""The attacker's values, chosen by the type of the field they go into.

A string gets a NUL byte and 1 MB (60 KB in a URL, the most an URL can carry), a date
field the years 9999 and 1, a reference an id that does not exist and one of another
organisation; an integer 2^31, 2^63 and -2^63; a list 10,000 items; a map 10,000
entries and a NUL in a key. ``must_refuse`` marks what the input policy refuses in
every field (a reference is fine where it only filters).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from tests.hostile.document import kind_of
from tests.hostile.schema_walk import UNDECLARED, Slot
from tests.hostile.synthesis import (
    Synthesiser,
    looks_like_date,
    looks_like_reference,
    reference_key,
)

ONE_MB = 1_000_000
UNKNOWN = "unknown reference"
FOREIGN = "other tenant's reference"
URL_LONG = 60_000
NUL = "hostile\x00value"
MANY = 10_000


@dataclass(frozen=True)
class Hostile:
    kind: str  # what a reader of the report sees: "NUL byte", "integer 2^63", ...
    value: Any
    must_refuse: bool  # the input policy refuses it in every field


def hostile_values(
    slot: Slot, synth: Synthesiser, route: str, foreign: dict[str, str]
) -> list[Hostile]:
    """The hostile values that fit ``slot``'s type (one request each)."""
    if slot.name == UNDECLARED:  # ignored by the route; only the guard reads it
        return [Hostile("NUL byte", NUL, True)]
    kinds = {kind_of(b) for b in slot.alternatives} - {"null"} or {"any"}
    out: list[Hostile] = []
    if kinds & {"string", "any"}:
        if slot.location != "header":  # HTTP cannot carry a NUL in a header
            out.append(Hostile("NUL byte", NUL, True))
        if slot.location in ("path", "query"):
            # An URL cannot carry 1 MB (httpx stops at 64 KiB, servers at 8-64 KiB).
            out.append(Hostile("60 KB string", "x" * URL_LONG, True))
        else:
            out.append(Hostile("1 MB string", "x" * ONE_MB, True))
        if any(looks_like_date(slot.name, b) for b in slot.alternatives):
            timed = any(b.get("format") == "date-time" for b in slot.alternatives)
            for day in ("9999-12-31", "0001-01-01"):
                value = f"{day}T00:00:00+00:00" if timed else day
                out.append(Hostile(f"date {day}", value, True))
        if looks_like_reference(slot.name, slot.schema, slot.location == "path"):
            out.append(Hostile(UNKNOWN, str(uuid.uuid4()), False))
            key = reference_key(slot.name, route)
            if key and key in foreign:
                out.append(Hostile(FOREIGN, foreign[key], False))
    if kinds & {"integer", "number"}:
        for label, number in (("2^31", 2**31), ("2^63", 2**63), ("-2^63", -(2**63))):
            out.append(Hostile(f"integer {label}", number, True))
    if "array" in kinds:
        array = next(b for b in slot.alternatives if kind_of(b) == "array")
        item_name = slot.name[:-1] if slot.name.endswith("s") else slot.name
        item = synth.value(array.get("items"), item_name, route)
        out.append(Hostile("10,000-item list", [item] * MANY, True))
    if "map" in kinds:
        mapping = next(b for b in slot.alternatives if kind_of(b) == "map")
        value = synth.value(mapping["additionalProperties"], slot.name, route)
        out.append(
            Hostile("10,000-entry map", {f"k{i}": value for i in range(MANY)}, True)
        )
        out.append(Hostile("NUL byte in a key", {"k\x00": value}, True))
    return out
