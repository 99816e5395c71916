"""How each answer of the hostile suite is judged and counted, and the report.

``Tally`` counts requests, typed refusals, accepted answers, server errors and
refusals that changed state (the summary lines); ``Report`` keeps each failing
``Finding`` (route, field, kind of value, status, code, body excerpt) and explains
them grouped by route. ``LogTap`` keeps the services' logs out of the test report and
gives each 5xx the exception behind it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

# Every report of the session, by service, for the summary lines (conftest).
COLLECTED: dict[str, Report] = {}


class LogTap(logging.Handler):
    """Holds the log records of the run instead of the test report: a service logs
    the SQL of a refused statement with its parameters, 1 MB values included. The
    error behind a 5xx is read from here into the finding."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def mark(self) -> int:
        return len(self.records)

    def error_since(self, mark: int) -> str:
        """The last exception logged since ``mark``, as "Type: message" (short)."""
        for record in reversed(self.records[mark:]):
            if record.exc_info and record.exc_info[1] is not None:
                exc = record.exc_info[1]
                text = " ".join(str(exc).split())[:200]
                return f"{type(exc).__name__}: {text}"
        return ""


@contextmanager
def tapped_logs() -> Iterator[LogTap]:
    """Route every log record to a ``LogTap`` while the suite runs."""
    root = logging.getLogger()
    tap = LogTap()
    saved = root.handlers[:]
    root.handlers = [tap]
    try:
        yield tap
    finally:
        root.handlers = saved
        tap.records.clear()


@dataclass
class Finding:
    service: str
    route: str  # "POST /cohorts"
    field: str  # "body:name"
    kind: str
    status: int
    code: str | None
    excerpt: str
    who: str = "admin"
    note: str = ""

    def line(self) -> str:
        code = f" {self.code}" if self.code else ""
        note = f" [{self.note}]" if self.note else ""
        who = f" (as {self.who})" if self.who != "admin" else ""
        return (
            f"{self.field} <- {self.kind}{who}: {self.status}{code}{note}: "
            f"{self.excerpt}"
        )


@dataclass
class Tally:
    requests: int = 0
    typed_refusals: int = 0
    accepted: int = 0
    server_errors: int = 0
    changed_after_refusal: int = 0
    untyped_refusals: int = 0
    refused_values_accepted: int = 0
    leaks: int = 0

    def add(self, other: Tally) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def line(self, label: str) -> str:
        return (
            f"{label}: requests={self.requests} typed_refusals={self.typed_refusals} "
            f"accepted={self.accepted} server_errors={self.server_errors} "
            f"changed_after_refusal={self.changed_after_refusal} "
            f"untyped_refusals={self.untyped_refusals} "
            f"refused_values_accepted={self.refused_values_accepted} "
            f"leaks={self.leaks}"
        )


@dataclass
class Report:
    service: str
    tally: Tally = field(default_factory=Tally)
    operations: int = 0
    server_errors: list[Finding] = field(default_factory=list)
    changed: list[Finding] = field(default_factory=list)
    untyped: list[Finding] = field(default_factory=list)
    refused_values_accepted: list[Finding] = field(default_factory=list)
    leaks: list[Finding] = field(default_factory=list)
    accepted_references: list[Finding] = field(default_factory=list)  # for review
    unsendable: list[str] = field(default_factory=list)
    not_covered: list[str] = field(default_factory=list)
    # route → "status code" → count: how deep the hostile values went (a 403 or 404
    # answered before the value reached a database says less than a 422 from it).
    answers: dict[str, Counter[str]] = field(default_factory=dict)

    FAILING = (
        ("server errors (5xx)", "server_errors"),
        ("refusals that changed state", "changed"),
        ("refusals without a problem code", "untyped"),
        ("values the input policy refuses, accepted", "refused_values_accepted"),
        ("answers showing another organisation's ids", "leaks"),
    )

    @property
    def failed(self) -> bool:
        return any(getattr(self, attr) for _, attr in self.FAILING)

    def explain(self) -> str:
        """Every failing finding, grouped by kind of failure and by route."""
        parts = [self.tally.line(f"hostile[{self.service}]")]
        for title, attr in self.FAILING:
            found: list[Finding] = getattr(self, attr)
            if not found:
                continue
            parts.append(f"\n{self.service}: {len(found)} {title}")
            by_route: dict[str, list[Finding]] = {}
            for f in found:
                by_route.setdefault(f.route, []).append(f)
            for route, items in by_route.items():
                parts.append(f"  {route}")
                parts.extend(f"    {f.line()}" for f in items)
        return "\n".join(parts)

    def as_json(self) -> dict[str, Any]:
        def rows(found: list[Finding]) -> list[dict[str, Any]]:
            return [f.__dict__ for f in found]

        return {
            "service": self.service,
            "operations": self.operations,
            "tally": self.tally.__dict__,
            "server_errors": rows(self.server_errors),
            "changed_after_refusal": rows(self.changed),
            "untyped_refusals": rows(self.untyped),
            "refused_values_accepted": rows(self.refused_values_accepted),
            "leaks": rows(self.leaks),
            "accepted_references": rows(self.accepted_references),
            "unsendable": self.unsendable,
            "not_covered": self.not_covered,
            "answers": {k: dict(v) for k, v in self.answers.items()},
        }


def excerpt(response: httpx.Response) -> str:
    body = response.text.replace("\n", " ")
    return body[:240] + ("…" if len(body) > 240 else "")


SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def problem_code(response: httpx.Response) -> str | None:
    """The problem ``code`` of an error answer (RFC 9457), or, on the SCIM routes,
    the SCIM error it is (RFC 7644 §3.12 prescribes that shape there)."""
    content_type = response.headers.get("content-type", "")
    if "json" not in content_type:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    code = body.get("code")
    if isinstance(code, str) and code:
        return code
    if SCIM_ERROR in (body.get("schemas") or []):
        return f"SCIM {body.get('scimType') or body.get('status')}"
    return None


def total(reports: list[Report]) -> Tally:
    out = Tally()
    for r in reports:
        out.add(r.tally)
    return out
