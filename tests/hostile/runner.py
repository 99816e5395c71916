"""Send every hostile value to every field of every route; judge each answer.

For one service: walk its OpenAPI document (``schema_walk``), build a valid request per
operation from the seeded ids of the caller's organisation, then change one field at a
time to a hostile value and send it with an admin + coordinator token. Each answer is
one of:

- a typed refusal: 4xx, ``application/problem+json`` with a ``code`` (what we want);
- accepted: 2xx. Fine for a reference that does not exist or belongs to another
  organisation (a filter answering an empty list), as long as nothing of the other
  organisation shows; a violation for a value the input policy refuses everywhere
  (NUL, 1 MB, 10,000 items, an integer beyond 32 bits, a date outside 1900-2199);
- an untyped refusal: 4xx without a problem ``code``;
- a server error: 5xx (also: a queued job that then crashed on the value).

After every answer that is not a 2xx the service's state (event store and every
projection table, see ``state``) must equal what it was before the request. A request
naming another organisation's id must leave that organisation's state as it was, and
must not find it where an unknown id is not found (a leak otherwise).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from tests.hostile.schema_walk import (
    UNDECLARED,
    Operation,
    Request,
    Resolver,
    Slot,
    Synthesiser,
    kind_of,
    looks_like_date,
    looks_like_reference,
    operations,
    reference_key,
    slots,
    undeclared_query,
)
from tests.hostile.state import StateReader, changed_tables, settle

ONE_MB = 1_000_000
UNKNOWN = "unknown reference"
FOREIGN = "other tenant's reference"
URL_LONG = 60_000
NUL = "hostile\x00value"
MANY = 10_000
# Every report of the session, by service, for the summary lines (conftest).
COLLECTED: dict[str, Report] = {}
# Ends a lifecycle (or erases): sent last, so the seeded resources stay usable.
TERMINAL = (
    "delete",
    "deactivate",
    "offboard",
    "terminate",
    "close",
    "conclude",
    "end",
    "withdraw",
    "decline",
    "reject",
    "cancel",
    "complete",
    "suspend",
    "missed",
    "replay",
    "rebuild",
)


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


def order(ops: list[Operation]) -> list[Operation]:
    """Reads first, then writes, then whatever ends or erases a resource."""

    def rank(op: Operation) -> int:
        if op.method == "GET":
            return 0
        last = op.path.rstrip("/").rsplit("/", 1)[-1]
        if op.method == "DELETE" or last in TERMINAL or "{decision}" in op.path:
            return 2
        return 1

    return sorted(ops, key=rank)


def is_read(op: Operation) -> bool:
    """GET, or a POST that reads several resources by id (``/people/batch``)."""
    last = op.path.rstrip("/").rsplit("/", 1)[-1]
    return op.method == "GET" or last == "batch" or last.startswith("batch-by-")


def url_of(op: Operation, request: Request) -> str:
    path = op.path
    for name, value in request.path_params.items():
        path = path.replace("{" + name + "}", quote(_text(value), safe=""))
    return path


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _excerpt(response: httpx.Response) -> str:
    body = response.text.replace("\n", " ")
    return body[:240] + ("…" if len(body) > 240 else "")


SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def _problem_code(response: httpx.Response) -> str | None:
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


class ServiceAttack:
    """The hostile suite for one running service."""

    def __init__(
        self,
        service: str,
        doc: dict[str, Any],
        client: httpx.AsyncClient,
        reader: StateReader,
        home_seeds: dict[str, str],
        foreign_seeds: dict[str, str],
        callers: list[tuple[str, dict[str, str]]],
        logs: LogTap | None = None,
        foreign_reader: StateReader | None = None,
    ) -> None:
        self.logs = logs or LogTap()
        # The other organisation's state alone: a request naming one of its ids must
        # leave it as it was, whatever the answer.
        self.foreign_reader = foreign_reader
        self._unknown_status: dict[tuple[str, str], int] = {}
        self.service = service
        self.doc = doc
        self.client = client
        self.reader = reader
        self.synth = Synthesiser(Resolver(doc), home_seeds)
        # Another organisation's ids that no answer to this caller may show.
        self.secrets = {
            v
            for v in foreign_seeds.values()
            if isinstance(v, str) and len(v) >= 16 and v not in home_seeds.values()
        }
        # Wrong-tenant references: ids only the other organisation has (not names
        # both share, such as a SCIM schema or a diligence check).
        self.foreign = {k: v for k, v in foreign_seeds.items() if v in self.secrets}
        self.callers = callers  # the admin first, then the parties
        self.caller = callers[0][1]
        self.report = Report(service)

    async def run(self) -> Report:
        ops = order(operations(self.service, self.doc))
        self.report.operations = len(ops)
        before = await self.reader.snapshot()
        for op in ops:
            if op.other_bodies and op.body is None:
                self.report.not_covered.append(
                    f"{op.label}: body only as {', '.join(op.other_bodies)}"
                )
            found = list(slots(op, self.synth)) or [undeclared_query(op, self.synth)]
            for slot in found:
                for hostile in hostile_values(slot, self.synth, op.path, self.foreign):
                    before = await self._one(op, slot, hostile, before)
        return self.report

    async def _one(
        self, op: Operation, slot: Slot, hostile: Hostile, before: Any
    ) -> Any:
        """Send one hostile request as the admin; where that is forbidden, again as
        each party (mentee, mentor, advisor) so the value reaches the code that
        stores it. Every answer is judged; the state is compared after each refusal."""
        for who, caller in self.callers:
            before, status = await self._send(op, slot, hostile, before, who, caller)
            if status != 403:
                break
        return before

    async def _send(
        self,
        op: Operation,
        slot: Slot,
        hostile: Hostile,
        before: Any,
        who: str,
        caller: dict[str, str],
    ) -> tuple[Any, int]:
        request = slot.build(hostile.value)
        request_id = f"hostile-{uuid.uuid4().hex}"
        headers = {
            **caller,
            **{k: _text(v) for k, v in request.headers.items()},
            "X-Request-ID": request_id,
        }
        kwargs: dict[str, Any] = {
            "params": {k: _text(v) for k, v in request.query.items()},
            "headers": headers,
        }
        if request.body is not None:
            kwargs["json"] = request.body
        mark = self.logs.mark()
        theirs = (
            await self.foreign_reader.snapshot()
            if self.foreign_reader is not None and hostile.kind == FOREIGN
            else None
        )
        try:
            response = await self.client.request(
                op.method, url_of(op, request), **kwargs
            )
        except (httpx.InvalidURL, httpx.LocalProtocolError, ValueError) as exc:
            self.report.unsendable.append(
                f"{op.label} {slot.describe()} <- {hostile.kind}: {exc}"
            )
            return before, 0
        tally = self.report.tally
        tally.requests += 1
        code = _problem_code(response)
        finding = Finding(
            self.service,
            op.label,
            slot.describe(),
            hostile.kind,
            response.status_code,
            code,
            _excerpt(response),
            who=who,
        )
        status = response.status_code
        if hostile.kind == UNKNOWN:
            self._unknown_status[(op.label, slot.describe())] = status
        if theirs is not None and self.foreign_reader is not None:
            await settle()
            touched = changed_tables(theirs, await self.foreign_reader.snapshot())
            if touched:
                self.report.tally.leaks += 1
                leak = Finding(
                    self.service,
                    op.label,
                    slot.describe(),
                    hostile.kind,
                    status,
                    code,
                    _excerpt(response),
                    who=who,
                    note=f"changed the other organisation's {', '.join(touched)}",
                )
                self.report.leaks.append(leak)
        self.report.answers.setdefault(op.label, Counter())[
            f"{status} {code or ''}".strip()
        ] += 1
        if 200 <= status < 400:
            tally.accepted += 1
            if op.method != "GET":
                await settle()
            verdict, why = await self._job_outcome(op, response)
            finding.note = why
            if verdict == "crashed":
                tally.server_errors += 1
                finding.note += " " + self.logs.error_since(mark)
                self.report.server_errors.append(finding)
            elif verdict != "refused":
                self._judge_accepted(op, slot, hostile, response, finding)
            if op.method != "GET":
                return await self.reader.snapshot(), status
            return before, status
        if status >= 500:
            tally.server_errors += 1
            finding.note = self.logs.error_since(mark)
            self.report.server_errors.append(finding)
        elif code:
            tally.typed_refusals += 1
        else:
            tally.untyped_refusals += 1
            self.report.untyped.append(finding)
        await settle()
        after = await self.reader.snapshot()
        if after != before:
            tally.changed_after_refusal += 1
            recorded = await self.reader.events_of_request(request_id)
            changed = ", ".join(changed_tables(before, after))
            finding.note = (
                f"changed: {changed}; {recorded} event(s) recorded by this request"
            )
            self.report.changed.append(finding)
        return after, status

    async def _job_outcome(
        self, op: Operation, response: httpx.Response
    ) -> tuple[str, str]:
        """For a 202 that queued a job (an import), how the job ended with the value:
        ("refused", why) when it reported the record as failed (a bulk import
        reports a bad row instead of refusing the whole file: a refusal too),
        ("crashed", error) when the job itself broke, ("", "") otherwise."""
        if response.status_code != 202:
            return "", ""
        try:
            body = response.json()
        except ValueError:
            return "", ""
        job_id = body.get("job_id") if isinstance(body, dict) else None
        if not isinstance(job_id, str):
            return "", ""
        url = f"{op.path.rstrip('/')}/{quote(job_id, safe='')}"
        deadline = time.monotonic() + 30
        while True:
            job = await self.client.get(url, headers=self.caller)
            if job.status_code != 200:
                return "", ""
            done = job.json()
            if done.get("status") not in ("queued", "running"):
                break
            if time.monotonic() > deadline:
                return "crashed", "the job did not finish in 30 s"
            await asyncio.sleep(0.05)
        failed = (done.get("counts") or {}).get("failed", 0)
        if failed:
            errors = done.get("errors") or [{}]
            return "refused", f"the job refused the record: {str(errors[0])[:160]}"
        if done.get("status") == "failed":
            return "crashed", f"the job failed: {done.get('error')}"
        return "", ""

    def _judge_accepted(
        self,
        op: Operation,
        slot: Slot,
        hostile: Hostile,
        response: httpx.Response,
        f: Finding,
    ) -> None:
        body = response.text
        shown = {s for s in self.secrets if s in body and s != hostile.value}
        # Another organisation's id answered as found where an unknown one is not.
        unknown = self._unknown_status.get((op.label, slot.describe()))
        found = (
            hostile.kind == FOREIGN and unknown is not None and not 200 <= unknown < 300
        )
        if shown or found:
            self.report.tally.leaks += 1
            f.note = (
                f"shows {len(shown)} id(s) of the other organisation"
                if shown
                else f"found across organisations (an unknown id gets {unknown})"
            )
            self.report.leaks.append(f)
        if hostile.must_refuse:
            self.report.tally.refused_values_accepted += 1
            self.report.refused_values_accepted.append(f)
        elif not is_read(op):
            self.report.accepted_references.append(f)


def total(reports: list[Report]) -> Tally:
    out = Tally()
    for r in reports:
        out.add(r.tally)
    return out
