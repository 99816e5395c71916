"""Send every hostile value to every field of every route; judge each answer.

For one service: walk its OpenAPI document (``schema_walk``), build a valid request per
operation from the seeded ids of the caller's organisation, then change one field at a
time to a hostile value and send it with an admin + coordinator token (where that is
forbidden, again as each party of the seeded resources: mentee, mentor, advisor, so
the value reaches the code that would store it). Each answer is one of:

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

import json
import uuid
from collections import Counter
from typing import Any
from urllib.parse import quote

import httpx

from tests.hostile.document import Operation, Resolver, operations
from tests.hostile.schema_walk import Request, Slot, slots, undeclared_query
from tests.hostile.state import StateReader, changed_tables, settle
from tests.hostile.synthesis import Synthesiser
from tests.hostile.values import FOREIGN, UNKNOWN, Hostile, hostile_values
from tests.hostile.verdicts import (
    Finding,
    LogTap,
    Report,
    excerpt,
    problem_code,
)
from tests.support.waiting import TimedOut, until

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

CLIENT_CHOSEN_KEYS = frozenset({"competency"})


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
        # A competency id is a key the organisation chooses ("strategy"), not an id
        # the platform mints: two organisations may define the same one, so it is
        # neither secret nor a wrong-tenant reference.
        self.secrets = {
            v
            for k, v in foreign_seeds.items()
            if k not in CLIENT_CHOSEN_KEYS
            and isinstance(v, str)
            and len(v) >= 16
            and v not in home_seeds.values()
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
        code = problem_code(response)
        finding = Finding(
            self.service,
            op.label,
            slot.describe(),
            hostile.kind,
            response.status_code,
            code,
            excerpt(response),
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
                    excerpt(response),
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

        async def ended() -> httpx.Response | None:
            job = await self.client.get(url, headers=self.caller)
            if job.status_code != 200 or job.json().get("status") not in (
                "queued",
                "running",
            ):
                return job
            return None

        try:
            job = await until(ended, "the job to end", 30, interval_s=0.05)
        except TimedOut:
            return "crashed", "the job did not finish in 30 s"
        if job.status_code != 200:
            return "", ""
        done = job.json()
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
