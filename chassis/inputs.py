"""The one input policy: validated types every request model is built from.

Every string, list, integer and date a caller can send is bounded here, once, so a
1 MB name, a NUL byte, 2^63 or the year 9999 is refused with a typed 422 at the edge
and never reaches a database column, an event or the broker. The bounds are
``Annotated`` constraints, so they show in each service's OpenAPI document
(``maxLength``, ``pattern``, ``maximum``, ``maxItems``) and integrators can see them.

Pick the narrowest type that fits the field:

- ``Ref``: an id or a client-chosen key (``competency_id``, a person id, a cursor).
- ``Name``: a one-line human label (a cohort name, a title, a business unit).
- ``Code``: a short machine word (a time zone, a language, a country).
- ``Text``: free text a person writes (notes, reasons, answers); newlines allowed.
- ``Email``: an address (shape checked loosely; delivery is not our concern).
- ``Int32`` / ``Count`` / ``Level`` / ``Rating`` / ``Minutes`` / ``Hours``: integers
  that fit their column and their meaning.
- ``SaneDate`` / ``SaneDateTime``: dates within ``EARLIEST``..``LATEST``.
- ``Items[T]`` / ``FewItems[T]``: lists with a bounded length.

Nothing here imports a framework but pydantic, so domain and contracts may use it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

T = TypeVar("T")

# -- limits (one place; tests and the gateway read them from here) -----------------------

MAX_NAME = 200
MAX_CODE = 64
MAX_REF = 128
MAX_TEXT = 10_000
MAX_EMAIL = 320
MAX_ITEMS = 500
FEW_ITEMS = 50
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)

# Control characters: C0 (NUL included) and DEL. A one-line value refuses them all;
# free text allows tab, line feed and carriage return. Written as \u escapes so the
# pattern survives JSON and regex dialects (pydantic's Rust engine, JSON Schema).
ONE_LINE = r"^[^\u0000-\u001f\u007f]*$"
MULTI_LINE = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$"
REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@+-]*$"


def _within_window(value: date) -> date:
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST <= day <= LATEST:
        raise ValueError(
            f"must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}"
        )
    return value


def _aware(value: datetime) -> datetime:
    # A naive time from a caller is read as UTC: inside, time is always aware.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME, pattern=ONE_LINE)]
OptionalName = Annotated[str, Field(max_length=MAX_NAME, pattern=ONE_LINE)]
Code = Annotated[str, Field(min_length=1, max_length=MAX_CODE, pattern=ONE_LINE)]
Ref = Annotated[str, Field(min_length=1, max_length=MAX_REF, pattern=REF_PATTERN)]
Text = Annotated[str, Field(max_length=MAX_TEXT, pattern=MULTI_LINE)]
Email = Annotated[
    str,
    Field(
        min_length=3,
        max_length=MAX_EMAIL,
        pattern=r"^[^\s@\u0000-\u001f]+@[^\s@\u0000-\u001f]+$",
    ),
]

Int32 = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX)]
NonNegative = Annotated[int, Field(ge=0, le=INT32_MAX)]
Count = Annotated[int, Field(ge=0, le=1_000_000)]
Positive = Annotated[int, Field(ge=1, le=1_000_000)]
Level = Annotated[int, Field(ge=1, le=12, description="Grade, 1 (entry) to 12")]
Rating = Annotated[int, Field(ge=1, le=5)]
Minutes = Annotated[int, Field(ge=0, le=24 * 60 * 31)]
Hours = Annotated[int, Field(ge=0, le=24 * 366)]
Index = Annotated[int, Field(ge=0, le=10_000)]

SaneDate = Annotated[date, AfterValidator(_within_window)]
SaneDateTime = Annotated[
    datetime, AfterValidator(_aware), AfterValidator(_within_window)
]

Items = Annotated[list[T], Field(max_length=MAX_ITEMS)]
FewItems = Annotated[list[T], Field(max_length=FEW_ITEMS)]
TextMap = Annotated[dict[Ref, Text], Field(max_length=FEW_ITEMS)]
NameMap = Annotated[dict[Ref, Name], Field(max_length=FEW_ITEMS)]


class RequestBody(BaseModel):
    """Base of every request body: unknown members are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


_CONTROL = re.compile("[\x00-\x1f\x7f]")
_CONTROL_BUT_NEWLINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control_characters(value: str, *, allow_newlines: bool = False) -> bool:
    """True when ``value`` holds a character the policy refuses (NUL, C0, DEL); tab,
    line feed and carriage return too unless ``allow_newlines``."""
    pattern = _CONTROL_BUT_NEWLINES if allow_newlines else _CONTROL
    return pattern.search(value) is not None


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def json_nesting_exceeds(raw: bytes, limit: int) -> bool:
    """True when the JSON text ``raw`` nests arrays/objects deeper than ``limit``.

    Read from the bytes, before any parser: a body nested 100,000 deep would exhaust
    the recursion of ``json.loads`` (a 500) before a check on the decoded value ran.
    Brackets inside strings do not count.
    """
    depth = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub(b"", raw)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False
