"""Running a programme-history import across the three owning services.

The steps follow the data: profiles creates the cohorts (and the outcomes); the
gateway resolves the pairings' employee ids and cohort keys to ids; matching records
the pairings; once sessions has heard of every relationship (``PairingConfirmed``
travels through Kafka, so this is a bounded wait), sessions records the contracts,
sessions, milestones, feedback and check-ins. Each service job is idempotent per
record, so a run that stops half-way (the gateway restarted, a service was down) is
finished by importing the same document again: what was written answers
``unchanged``.

The job lives in the gateway process that accepted it: the gateway keeps no domain
state, and everything the job wrote is in the services. What the gateway keeps is
the report, for ``programmeHistoryImport(id)`` to read, for ``retention_s`` after
the job ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from chassis.auth import Principal
from contracts.api import history as api
from contracts.api import profiles as profiles_api
from contracts.api import sessions as sessions_api
from gateway.answers import read
from gateway.history import document as doc
from gateway.history.document import Line
from gateway.upstream import Caller, ServiceDown, UpstreamError, upstream_path

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
# Each service's job routes (sessions keeps its own under ``/sessions``), and the
# models its answers are read with.
PATH = {
    "profiles": "/history-imports",
    "matching": "/history-imports",
    "sessions": "/sessions/history-imports",
}
JOB: dict[str, type[api.HistoryImportJob] | type[sessions_api.HistoryImportJob]] = {
    "profiles": api.HistoryImportJob,
    "matching": api.HistoryImportJob,
    "sessions": sessions_api.HistoryImportJob,
}
PAGE_OF: dict[
    str, type[api.HistoryRecordPage] | type[sessions_api.HistoryRecordPage]
] = {
    "profiles": api.HistoryRecordPage,
    "matching": api.HistoryRecordPage,
    "sessions": sessions_api.HistoryRecordPage,
}
PAGE = 500
BATCH = 200

# A record refused for one of these codes names something its service has not heard
# of yet (profiles' and matching's events travel through Kafka): it is sent again,
# alone, until it is known or the wait is over.
NOT_YET = {
    "profiles": frozenset[str](),
    "matching": frozenset({"unknown_cohort", "unknown_person"}),
    "sessions": frozenset({"unknown_relationship"}),
}

# Stages, in order; the job's ``stage`` says which one runs (or where it stopped).
FINISHED = frozenset({"succeeded", "failed"})
STAGES = ("profiles", "resolving", "matching", "waiting", "sessions", "done")


@dataclass
class Job:
    """One import: who asked, where it is, and its report so far."""

    job_id: str
    tenant: str
    subject: str
    dry_run: bool
    status: str = "queued"
    stage: str = "profiles"
    error: str | None = None
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    service_jobs: dict[str, str] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def visible_to(self, principal: Principal) -> bool:
        return principal.tenant == self.tenant


@dataclass(frozen=True)
class Timing:
    step_timeout_s: float = 300.0
    relationship_wait_s: float = 60.0
    poll_s: float = 0.2
    retention_s: float = 24 * 3600.0


class HistoryImports:
    """The imports this gateway process runs (the composition root holds one)."""

    def __init__(self, timing: Timing | None = None) -> None:
        self.timing = timing or Timing()
        self._jobs: dict[str, Job] = {}

    def start(self, caller: Caller, document: Mapping[str, Any], dry_run: bool) -> Job:
        self._forget_old()
        p = caller.principal
        job = Job(uuid.uuid4().hex, p.tenant, p.subject, dry_run)
        self._jobs[job.job_id] = job
        job.task = asyncio.create_task(
            _Run(job, caller, document, self.timing).run(),
            name=f"history-import-{job.job_id}",
        )
        return job

    def get(self, job_id: str, principal: Principal) -> Job | None:
        job = self._jobs.get(job_id)
        return job if job is not None and job.visible_to(principal) else None

    async def wait(self, job_id: str) -> None:
        """Until the job ended (tests, the demo seeder)."""
        job = self._jobs.get(job_id)
        if job is not None and job.task is not None:
            await asyncio.shield(job.task)

    async def aclose(self) -> None:
        tasks = [j.task for j in self._jobs.values() if j.task and not j.task.done()]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t

    def _forget_old(self) -> None:
        horizon = time.time() - self.timing.retention_s
        for job_id, job in list(self._jobs.items()):
            if job.finished_at is not None and job.finished_at < horizon:
                del self._jobs[job_id]


class _Known(BaseModel):
    relationship_id: str


class _KnownRelationships(BaseModel):
    """Of sessions' ``POST /relationships/batch`` answer, only which ids it knows."""

    items: list[_Known]


class _Stop(Exception):
    """The job cannot go on (a service refused a body, failed, or timed out)."""


class _Run:
    def __init__(
        self,
        job: Job,
        caller: Caller,
        document: Mapping[str, Any],
        timing: Timing,
    ) -> None:
        self.job = job
        self.caller = caller
        self.document = document
        self.timing = timing

    async def run(self) -> None:
        job = self.job
        job.status = "running"
        try:
            await self._steps()
            job.status = "succeeded"
            job.stage = "done"
        except _Stop as exc:
            job.status = "failed"
            job.error = str(exc)
        except UpstreamError as exc:
            job.status = "failed"
            job.error = f"{exc.service}: {exc.message}"
        except Exception:  # the report says it failed; the log says why
            log.exception("history import %s failed", job.job_id)
            job.status = "failed"
            job.error = "the import failed unexpectedly; import the document again"
        finally:
            job.finished_at = time.time()
            self.document = {}  # the report is kept for a day; the document is not

    async def _steps(self) -> None:
        job, document = self.job, self.document
        job.stage = "profiles"
        profiles = await self._service_job("profiles", doc.profiles_body(document))
        self._report(profiles)
        cohorts = {ln.key: ln for ln in profiles if ln.section == "cohorts"}

        job.stage = "resolving"
        people = await self._people(doc.employee_ids(document))
        pairings_body, refused = doc.matching_body(document, cohorts, people)
        self._report(refused)

        job.stage = "matching"
        matched = await self._until_known(
            "matching", {"pairings": pairings_body} if pairings_body else {}
        )
        self._report(matched)
        pairings = {ln.key: ln for ln in [*matched, *refused]}

        sessions_body, blocked = doc.sessions_body(document, pairings, people)
        self._report(blocked)
        if not job.dry_run and sessions_body:
            job.stage = "waiting"
            await self._relationships_known(doc.relationship_ids(sessions_body))
        job.stage = "sessions"
        self._report(await self._until_known("sessions", sessions_body))

    def _report(self, lines: list[Line]) -> None:
        self.job.lines = doc.ordered(self.document, [*self.job.lines, *lines])

    async def _call(self, service: str, method: str, path: str, **kw: Any) -> Any:
        """One call; a service that is down or slow is asked again (the job calls
        are idempotent: the same key answers the same job) until the step's time
        is up."""
        deadline = time.monotonic() + self.timing.step_timeout_s
        pause = self.timing.poll_s
        while True:
            try:
                return await self.caller.request(service, method, path, **kw)
            except ServiceDown:
                if time.monotonic() > deadline:
                    raise
                log.warning("history import %s: %s is down", self.job.job_id, service)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)

    async def _call_get(self, service: str, path: str, **params: Any) -> Any:
        return await self._call(service, "GET", path, params=params)

    async def _call_post(self, service: str, path: str, json: Any) -> Any:
        return await self._call(service, "POST", path, json=json)

    async def _until_known(self, service: str, body: dict[str, Any]) -> list[Line]:
        """``service``'s job on ``body``; the records it refused for naming what it
        has not heard of yet are sent again (bounded by ``relationship_wait_s``)."""
        lines = await self._service_job(service, body)
        deadline = time.monotonic() + self.timing.relationship_wait_s
        pause, attempt = self.timing.poll_s, 0
        while True:
            waiting = {
                (ln.section, ln.key)
                for ln in lines
                if ln.outcome == "failed" and ln.code in NOT_YET[service]
            }
            if not waiting or time.monotonic() > deadline:
                return lines
            await asyncio.sleep(pause)
            pause, attempt = min(pause * 2, 2.0), attempt + 1
            again = {
                section: [r for r in records if (section, r["key"]) in waiting]
                for section, records in body.items()
            }
            redone = {
                (ln.section, ln.key): ln
                for ln in await self._service_job(service, again, attempt)
            }
            lines = [redone.get((ln.section, ln.key), ln) for ln in lines]

    async def _service_job(
        self, service: str, body: dict[str, Any], attempt: int = 0
    ) -> list[Line]:
        """Run ``service``'s job on ``body`` to its end; its per-record lines."""
        if not any(body.values()):
            return []
        job = self.job
        try:
            answer = await self._call(
                service,
                "POST",
                PATH[service],
                params={"dry_run": str(job.dry_run).lower()},
                json=body,
                headers={"idempotency-key": f"{job.job_id}-{service}-{attempt}"},
            )
        except UpstreamError as exc:
            if exc.status != 422:
                raise
            raise _Stop(_refusal(service, exc, body)) from None
        accepted = read(JOB[service], answer, service)
        job.service_jobs[service] = accepted.job_id
        state = await self._finished(service, accepted.job_id)
        lines = await self._records(service, accepted.job_id)
        if state.status == "failed":
            self._report(lines)
            raise _Stop(f"{service}: {state.error or 'the job failed'}")
        return lines

    async def _finished(
        self, service: str, job_id: str
    ) -> api.HistoryImportJob | sessions_api.HistoryImportJob:
        path = upstream_path(PATH[service] + "/{job}", job=job_id)
        deadline = time.monotonic() + self.timing.step_timeout_s
        pause = self.timing.poll_s
        while True:
            state = read(JOB[service], await self._call_get(service, path), service)
            if state.status in FINISHED:
                return state
            if time.monotonic() > deadline:
                raise _Stop(
                    f"{service}: its job {job_id} did not end within "
                    f"{self.timing.step_timeout_s:.0f} s; import the document again"
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)

    async def _records(self, service: str, job_id: str) -> list[Line]:
        path = upstream_path(PATH[service] + "/{job}/records", job=job_id)
        lines: list[Line] = []
        after: int | None = None
        while True:
            page = read(
                PAGE_OF[service],
                await self._call_get(service, path, after=after, limit=PAGE),
                service,
            )
            lines.extend(_line(r) for r in page.items)
            if page.next is None or not page.items:
                return lines
            after = page.next

    async def _people(self, wanted: set[str]) -> dict[str, str]:
        """Person id by employee id, for the ``wanted`` employee ids."""
        if not wanted:
            return {}
        found: dict[str, str] = {}
        after: str | None = None
        while True:
            page = read(
                profiles_api.PersonPage,
                await self._call_get("profiles", "/people", after=after, limit=500),
                "profiles",
            )
            for person in page.items:
                if person.employee_id in wanted:
                    found[person.employee_id] = person.person_id
            if page.next is None or len(found) == len(wanted):
                return found
            after = page.next

    async def _relationships_known(self, ids: list[str]) -> None:
        """Until sessions knows every relationship of ``ids`` (bounded: those still
        unknown then are the sessions job's ``unknown_relationship`` records)."""
        deadline = time.monotonic() + self.timing.relationship_wait_s
        missing = list(ids)
        while missing and time.monotonic() < deadline:
            still: list[str] = []
            for i in range(0, len(missing), BATCH):
                chunk = missing[i : i + BATCH]
                known = read(
                    _KnownRelationships,
                    await self._call_post(
                        "sessions", "/relationships/batch", {"ids": chunk}
                    ),
                    "sessions",
                )
                seen = {r.relationship_id for r in known.items}
                still.extend(r for r in chunk if r not in seen)
            missing = still
            if missing:
                await asyncio.sleep(self.timing.poll_s)
        if missing:
            log.warning(
                "history import %s: sessions does not know %d relationships yet",
                self.job.job_id,
                len(missing),
            )


def _refusal(service: str, exc: UpstreamError, body: Mapping[str, Any]) -> str:
    """``service``'s refusal of the whole body, each problem named by the record's
    section and key (the body's positions are not the document's)."""
    named: list[str] = []
    for problem in exc.fields[:20]:
        parts = str(problem.get("path", "")).split(".")
        if parts and parts[0] == "body":
            parts = parts[1:]
        where = ".".join(parts)
        if len(parts) >= 2 and parts[1].isdigit():
            records = body.get(parts[0]) or []
            index = int(parts[1])
            if index < len(records):
                rest = ".".join(parts[2:])
                where = f"{parts[0]} {records[index].get('key')!r}" + (
                    f" {rest}" if rest else ""
                )
        named.append(f"{where}: {problem.get('message', '')}")
    detail = "; ".join(named) or exc.message
    return (
        f"{service} refused the records it was sent (nothing of them written): "
        + detail
    )


def _line(r: api.HistoryRecordResult | sessions_api.HistoryRecord) -> Line:
    err = r.error
    return Line(
        section=str(r.section),
        key=r.key or "",
        outcome=r.outcome.value,
        code=err.code if err else None,
        field=err.field if err else None,
        message=err.message if err else None,
        id=r.id,
    )
