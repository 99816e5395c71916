"""Read benchmark: each service's heaviest portal read against its bare limit.

    python -m bench.reads                       # about 8 minutes on 2 cores
    python -m bench.reads --rounds 1 --seconds 4 --only sessions milestones
    python -m bench.reads --profile-below 0.5   # and profile the reads below 0.5

Deployed as Tandem is deployed (``bench.gateway.separate_platform``: every service
and the gateway their own ``uvicorn`` process, ``python -m launcher.real``, on the
real PostgreSQL server with durable settings and the real Kafka broker). Seeded
through GraphQL: one mentee's relationship with 50 sessions held and 50 milestones
(``bench.gateway.seed``), and a round of 50 mentees with its 50 proposals.

Five reads, each asked of the service and of a **bare endpoint** (``bare_app``
below, in its own ``uvicorn`` process, started exactly as the launcher starts a
service) that does only the work the product must do: verify the bearer token
(``chassis.auth.TokenVerifier``), check in one SQL statement that the caller may read
it (the revocation view, and the relationship's two people where the service checks
them), run the minimal SQL with asyncpg (a pool; asyncpg prepares and caches each
statement per connection), open sealed personal data with the services' own
functions (``chassis.personal_data``, ``services.sessions.application.texts``), and
answer the same JSON. The two bodies are compared once before timing (equal as JSON,
or the benchmark stops).

==========  ===================================================  ================
read        service route                                        caller
==========  ===================================================  ================
sessions    sessions ``GET /relationships/{id}/sessions``        the mentee
milestones  sessions ``GET /relationships/{id}/milestones``      the mentee
scorecard   insights ``GET /scorecards/mentees/{id}``            the mentee
people      profiles ``POST /people/batch`` (50 ids)             a coordinator
proposals   matching ``GET /pairings?round_id=...`` (50 pairs)   a coordinator
==========  ===================================================  ================

The load comes from separate processes (``bench.gateway.load``). ``--rounds``
(default 3): the contenders take turns in every round, and the median round of each
is shown. Printed per read: req/s, p50 and p99 of both, and the ratio service /
bare; last line JSON with ``ratio_min`` (the worst read's ratio) and each read's
figures. Goal (a target, not a test): every ratio >= 0.5. ``--profile-below 0.5``
then runs a second process of each such read's service under cProfile (CPU time)
with the same load, and prints where its time goes and the SQL statements it sends
per request (``--profile NAME`` for a given read).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple, cast

import asyncpg
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench._infra import postgres_server
from bench.gateway import (
    _free_port_block,
    _log,
    _ready,
    _stop,
    kafka_broker,
    load,
    seed,
    separate_platform,
)
from chassis.auth import InvalidToken, Principal, Role, TokenVerifier
from chassis.heap import settle
from chassis.personal_data import PersonalDataCipher
from contracts.api.matching import PairingView, ScorePartView
from gateway.settings import SERVICES
from launcher.registry import SERVICES as SERVICE_MODULES
from services.insights.domain import scorecard, scorecard_parts
from services.insights.projections.erasure import Erasures
from services.insights.settings import Settings as InsightsSettings
from services.matching.projections.pairing_texts import NOTE_READERS, PROPOSED
from services.profiles.domain import access as profile_access
from services.profiles.domain.events import registry as profiles_registry
from services.profiles.projections.sealed import PEOPLE
from services.profiles.settings import Settings as ProfilesSettings
from services.sessions.application.texts import _open as open_text
from services.sessions.domain.events import registry as sessions_registry
from services.sessions.projections.development import TEXTS
from services.sessions.settings import Settings as SessionsSettings
from tests.gateway import journey
from tests.gateway.journey import local, ok
from tests.gateway.platform import Platform, new_tenant, token

ITEMS = 50
# The service's rate limiter stays on (its cost is part of the product) but is set
# far above what one token reaches here, so no request is refused with 429.
RATE_LIMITS = {
    "RATE_LIMIT_PER_TOKEN_PER_MINUTE": "100000000",
    "RATE_LIMIT_PER_TENANT_PER_MINUTE": "100000000",
}


# -- the bare endpoints ---------------------------------------------------------------


class Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


OVERSEERS = (Role.ADMIN, Role.COORDINATOR, Role.SPONSOR)
COORDINATING = (Role.ADMIN, Role.COORDINATOR)
SCORECARD_READERS = (Role.COORDINATOR, Role.SPONSOR, Role.ADMIN)

# Revocation view and, where the service checks it, the relationship's two people:
# one statement.
CHECK_RELATIONSHIP = (
    "SELECT v.reason, r.mentor_id, r.mentee_id FROM (SELECT 1) one "
    "LEFT JOIN revoked_subjects v ON v.tenant = $1 AND v.subject = $2 "
    "LEFT JOIN relationships r ON r.relationship_id = $3 AND r.tenant = $1"
)
CHECK_REVOKED = "SELECT reason FROM revoked_subjects WHERE tenant = $1 AND subject = $2"
SESSIONS = (
    "SELECT session_id, relationship_id, mentor_id, mentee_id, minutes, format, "
    "state, sequence, scheduled_by, cancelled_by, reason_code, held_minutes, "
    "starts_at, ends_at, held_at, absent_ids FROM sessions "
    "WHERE relationship_id = $1 AND tenant = $2 ORDER BY starts_at"
)
MILESTONES = (
    "SELECT item_id, kind, state, view FROM development_items WHERE tenant = $1 "
    "AND kind = 'milestone' AND relationship_id = $2 ORDER BY recorded_at, item_id"
)
TEXTS_SQL = (
    "SELECT t.text_id, t.author_id, t.body, k.wrapped_key FROM private_texts t "
    "LEFT JOIN person_keys k ON k.person_id = t.author_id "
    "WHERE t.text_id = ANY($1::text[]) AND t.sealed = 1"
)
PEOPLE_SQL = (
    "SELECT p.*, k.wrapped_key AS bare_wrapped_key FROM people p "
    "LEFT JOIN person_keys k ON k.person_id = p.person_id "
    "WHERE p.tenant = $1 AND p.person_id = ANY($2::text[])"
)
PAIRINGS = (
    "SELECT p.pairing_id, p.round_id, p.cohort_id, p.mentor_id, p.mentee_id, "
    "p.programme_type, p.state, p.score, p.parts, p.accepted_by, p.replaces, "
    "p.reason, p.expires_at, p.starts_on, e.reasons, n.notes FROM pairings p "
    "LEFT JOIN pairing_explanations e "
    "ON e.pairing_id = p.pairing_id AND e.tenant = p.tenant "
    "LEFT JOIN LATERAL (SELECT json_agg(json_build_object('action', action, "
    "'code', code, 'author_id', author_id, 'text', body, 'written_at', written_at) "
    "ORDER BY written_at, note_id) AS notes FROM pairing_notes "
    "WHERE tenant = p.tenant AND pairing_id = p.pairing_id "
    "AND ($4 OR author_id = $5)) n ON true "
    "WHERE p.tenant = $1 AND p.round_id = $2 "
    "AND ($3::text IS NULL OR p.mentor_id = $3 OR p.mentee_id = $3) "
    "ORDER BY p.proposed_at, p.pairing_id LIMIT $6"
)
# Every ``latest`` is ISO 8601 in UTC: the greatest text (byte order) is the latest.
PARTS = (
    "SELECT string_agg(slice, ','), max(latest COLLATE \"C\") FROM scorecard_parts "
    "WHERE tenant = $1"
)
FACTS = (
    "SELECT event_id, type, occurred_at, data FROM facts "
    "WHERE tenant = $1 AND occurred_at <= $2 ORDER BY occurred_at, event_id"
)
_TEXT_ROW = ("text_id", "author_id", "body")
PART_FIELDS = tuple(ScorePartView.model_fields)
assert "notes" in PairingView.model_fields


class Fact(NamedTuple):
    """A fact as ``scorecard.fold`` reads it."""

    id: str
    type: str
    time: datetime
    data: dict[str, Any]


def _json(body: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")).encode(),
        status_code=status,
        media_type="application/json",
    )


def _stamp(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class Bare:
    """The five reads, each the least the product must do (see the module doc)."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = {k: v.replace("+asyncpg", "") for k, v in urls.items()}
        self.pools: dict[str, asyncpg.Pool] = {}
        # The services' own settings, from the same environment they were started in.
        sessions, profiles = SessionsSettings(), ProfilesSettings()
        insights = InsightsSettings()
        self.verifier = TokenVerifier.from_settings(sessions)
        self.session_keys = PersonalDataCipher(sessions.master_key, sessions_registry)
        self.people_keys = PersonalDataCipher(profiles.master_key, profiles_registry)
        self.tombstones = Erasures(insights.tombstone_key, {})
        self.min_comparison = insights.k_anonymity

    async def start(self) -> None:
        for name in ("sessions", "profiles", "insights", "matching"):
            self.pools[name] = await asyncpg.create_pool(
                self.urls[name], min_size=2, max_size=20
            )

    async def stop(self) -> None:
        for pool in self.pools.values():
            await pool.close()

    def principal(self, request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            raise Refused(401, "missing bearer token")
        try:
            return self.verifier.verify(header[7:])
        except InvalidToken as exc:
            raise Refused(401, str(exc)) from None

    # -- sessions ------------------------------------------------------------------

    async def _relationship(
        self, conn: asyncpg.Connection, who: Principal, relationship_id: str
    ) -> tuple[str, str]:
        row = await conn.fetchrow(
            CHECK_RELATIONSHIP, who.tenant, who.subject, relationship_id
        )
        if row["reason"] is not None:
            raise Refused(401, "token refused")
        parties = (row["mentor_id"], row["mentee_id"])
        if row["mentor_id"] is None or not (
            who.subject in parties or who.has_role(*OVERSEERS)
        ):
            raise Refused(404, f"relationship {relationship_id} not found")
        return parties

    async def sessions(self, request: Request) -> Response:
        who = self.principal(request)
        rid = request.path_params["relationship_id"]
        async with self.pools["sessions"].acquire() as conn:
            await self._relationship(conn, who, rid)
            rows = await conn.fetch(SESSIONS, rid, who.tenant)
        return _json(
            [
                {
                    "session_id": r["session_id"],
                    "relationship_id": r["relationship_id"],
                    "mentor_id": r["mentor_id"],
                    "mentee_id": r["mentee_id"],
                    "minutes": r["minutes"],
                    "format": r["format"],
                    "state": r["state"],
                    "sequence": r["sequence"],
                    "scheduled_by": r["scheduled_by"],
                    "cancelled_by": r["cancelled_by"],
                    "reason_code": r["reason_code"],
                    "held_minutes": r["held_minutes"],
                    "starts_at": _stamp(r["starts_at"]),
                    "ends_at": _stamp(r["ends_at"]),
                    "held_at": _stamp(r["held_at"]),
                    "absent_ids": json.loads(r["absent_ids"])
                    if r["absent_ids"]
                    else [],
                    "agenda": None,  # a list shows no agenda (single reads do)
                }
                for r in rows
            ]
        )

    async def milestones(self, request: Request) -> Response:
        who = self.principal(request)
        rid = request.path_params["relationship_id"]
        async with self.pools["sessions"].acquire() as conn:
            parties = await self._relationship(conn, who, rid)
            rows = await conn.fetch(MILESTONES, who.tenant, rid)
            views = [json.loads(r["view"]) for r in rows]
            ids = sorted({v for d in views for k, v in d.items() if k in TEXTS and v})
            texts = await conn.fetch(TEXTS_SQL, ids) if ids else []
        keys: dict[str, Any] = {}
        words: dict[str, str | None] = {}
        for t in texts:
            if t["author_id"] not in keys:
                keys[t["author_id"]] = self.session_keys.open_key(
                    t["author_id"], t["wrapped_key"]
                )
            words[t["text_id"]] = open_text(
                keys[t["author_id"]],
                # the service's row type: any object with these three attributes
                cast(Any, SimpleNamespace(**{k: t[k] for k in _TEXT_ROW})),
            )
        readable = who.subject in parties or who.has_role(*COORDINATING)
        out = []
        for row, data in zip(rows, views, strict=True):
            item: dict[str, Any] = {
                "id": row["item_id"],
                "kind": row["kind"],
                "state": row["state"],
            }
            for key, value in data.items():
                if key not in TEXTS:
                    item[key] = value
                elif readable:
                    said = words.get(value) if value else None
                    field = TEXTS[key]
                    item[field] = (
                        said.split("\n") if field == "criteria" and said else said
                    )
            out.append(item)
        return _json(out)

    # -- insights ------------------------------------------------------------------

    async def scorecard(self, request: Request) -> Response:
        who = self.principal(request)
        person = request.path_params["person_id"]
        as_of = request.query_params.get("as_of")
        moment = datetime.fromisoformat(as_of) if as_of else datetime.now(UTC)
        async with self.pools["insights"].acquire() as conn:
            key = self.tombstones.person_key(who.tenant, who.subject)
            if await conn.fetchval(CHECK_REVOKED, who.tenant, key) is not None:
                raise Refused(401, "token refused")
            if not who.has_role(*SCORECARD_READERS) and not (
                who.subject == person and who.has_role(Role.MENTEE)
            ):
                raise Refused(403, "only the mentee reads their own scorecard")
            card = await mentee_scorecard(
                conn, who.tenant, person, moment, self.min_comparison, now=not as_of
            )
        if card is None:
            raise Refused(404, "no such mentee as of that date")
        return _json(card)

    # -- profiles ------------------------------------------------------------------

    async def people(self, request: Request) -> Response:
        who = self.principal(request)
        ids = (json.loads(await request.body()))["ids"]
        async with self.pools["profiles"].acquire() as conn:
            if await conn.fetchval(CHECK_REVOKED, who.tenant, who.subject) is not None:
                raise Refused(401, "token refused")
            rows = await conn.fetch(PEOPLE_SQL, who.tenant, ids)
        found = {r["person_id"]: r for r in rows}
        return _json(
            {"items": [self._person(found[i], who) for i in ids if i in found]}
        )

    def _person(self, row: asyncpg.Record, who: Principal) -> dict[str, Any]:
        pid = row["person_id"]
        if row["status"] == "erased":
            return {"person_id": pid, "status": "erased", "erased": True}
        aead = self.people_keys.open_key(pid, row["bare_wrapped_key"])

        def opened(column: str) -> Any:
            return PersonalDataCipher.open(aead, pid, PEOPLE, column, row[column])

        view: dict[str, Any] = {
            "person_id": pid,
            "status": row["status"],
            "erased": False,
            "given_name": opened("given_name"),
            "family_name": opened("family_name"),
            "title": opened("title"),
            "level": row["level"],
            "business_unit": row["business_unit"],
            "function": row["function"],
            "geography": row["geography"],
            "time_zone": row["time_zone"],
            "manager_id": row["manager_id"],
            "languages": json.loads(row["languages"]),
            "roles": json.loads(row["roles"]),
            "mentor_profile": json.loads(profile)
            if (profile := opened("mentor_profile"))
            else None,
            "version": row["version"],
        }
        if profile_access.sees_contact_details(who, pid):
            for column in ("employee_id", "email", "hire_date"):
                view[column] = opened(column)
            intake = opened("intake")
            view["intake"] = json.loads(intake) if intake else None
            view["consents"] = json.loads(row["consents"])
        if profile_access.sees_demographics(who, pid):
            demographics = opened("demographics")
            view["demographics"] = json.loads(demographics) if demographics else None
        return view

    # -- matching ------------------------------------------------------------------

    async def proposals(self, request: Request) -> Response:
        who = self.principal(request)
        q = request.query_params
        person = q.get("person_id")
        if not who.has_role(*COORDINATING, Role.SPONSOR):
            if person not in (None, who.subject):
                raise Refused(403, "you may list only your own pairings")
            person = who.subject
        reader = who.has_role(*NOTE_READERS)
        async with self.pools["matching"].acquire() as conn:
            if await conn.fetchval(CHECK_REVOKED, who.tenant, who.subject) is not None:
                raise Refused(401, "token refused")
            rows = await conn.fetch(
                PAIRINGS,
                who.tenant,
                q["round_id"],
                person,
                reader,
                who.subject,
                int(q.get("limit", 200)),
            )
        out = []
        for r in rows:
            said = json.loads(r["reasons"]) if r["reasons"] else {}
            notes = json.loads(r["notes"]) if r["notes"] else []
            typed = [n["text"] for n in notes if n["action"] == PROPOSED]
            parts = []
            for part in json.loads(r["parts"]):
                shown = {k: part[k] for k in PART_FIELDS if k in part}
                shown["reason"] = said.get(part["criterion"]) or (
                    f"{part['criterion']}: {float(part['value']):.2f} of 1 "
                    "(its explanation is no longer kept)"
                )
                parts.append(shown)
            out.append(
                {
                    "pairing_id": r["pairing_id"],
                    "round_id": r["round_id"],
                    "cohort_id": r["cohort_id"],
                    "mentor_id": r["mentor_id"],
                    "mentee_id": r["mentee_id"],
                    "programme_type": r["programme_type"],
                    "state": r["state"],
                    "score": r["score"],
                    "parts": parts,
                    "accepted_by": json.loads(r["accepted_by"]),
                    "replaces": r["replaces"],
                    "reason": typed[-1] if typed else r["reason"],
                    "reason_code": r["reason"],
                    "expires_at": r["expires_at"].isoformat(),
                    "starts_on": r["starts_on"],
                    "notes": notes,
                }
            )
        return _json(out)


async def mentee_scorecard(
    conn: asyncpg.Connection,
    tenant: str,
    person: str,
    moment: datetime,
    min_comparison: int,
    *,
    now: bool = True,
) -> dict[str, Any] | None:
    """The mentee's card from insights' tables as they are: ``now``, the organisation
    insights keeps (``scorecard_parts``: every slice of the tenant in one statement,
    merged by the domain's ``assemble``); should a fact be dated after ``moment``
    (or some part not fold), the tenant's facts up to ``moment`` folded, as the
    service does (and always when asked as of a moment). Then the domain's own pure
    ``mentee_card``."""
    org = None
    if now:
        slices, latest = await conn.fetchrow(PARTS, tenant)
        org = scorecard_parts.assemble(json.loads(f"[{slices or ''}]"))
    if org is None or (latest is not None and datetime.fromisoformat(latest) > moment):
        rows = await conn.fetch(FACTS, tenant, moment)
        org = scorecard.fold(
            Fact(r["event_id"], r["type"], r["occurred_at"], json.loads(r["data"]))
            for r in rows
        )
    card = scorecard.mentee_card(org, person, moment, min_comparison=min_comparison)
    return dict(card) if card is not None else None


def bare_app() -> Starlette:
    """The bare endpoints' ASGI app (``uvicorn --factory bench.reads:bare_app``);
    ``BENCH_READS_DATABASES``: JSON, service name → its database URL."""
    bare = Bare(json.loads(os.environ["BENCH_READS_DATABASES"]))

    def route(
        handler: Callable[[Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Refused as exc:
                return _json({"detail": str(exc)}, exc.status)

        return answer

    async def healthz(_request: Request) -> Response:
        return _json({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await bare.start()
        settle()  # the collector tuned as in every Tandem process (chassis.heap)
        yield
        await bare.stop()

    r = "/relationships/{relationship_id}"
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route(f"/sessions{r}/sessions", route(bare.sessions)),
            Route(f"/sessions{r}/milestones", route(bare.milestones)),
            Route("/insights/scorecards/mentees/{person_id}", route(bare.scorecard)),
            Route("/profiles/people/batch", route(bare.people), methods=["POST"]),
            Route("/matching/pairings", route(bare.proposals)),
        ],
        lifespan=lifespan,
    )


@contextlib.asynccontextmanager
async def bare_process(databases: dict[str, str], logs: str) -> AsyncIterator[str]:
    """The bare endpoints in their own uvicorn process, started as the launcher
    starts a service (``launcher.real``: ``uvicorn --factory``, log level info)."""
    port = _free_port_block(1)
    with _log(logs, "bare.log") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "bench.reads:bare_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "info",
            env={
                **os.environ,
                # as launcher.real sets it for every service
                "ENVIRONMENT": os.environ.get("ENVIRONMENT", "development"),
                "BENCH_READS_DATABASES": json.dumps(databases),
            },
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            ready = asyncio.create_task(_ready(url, "handwritten"))  # /healthz
            exited = asyncio.create_task(process.wait())
            await asyncio.wait({ready, exited}, return_when=asyncio.FIRST_COMPLETED)
            if not ready.done():
                ready.cancel()
                raise RuntimeError(f"the bare process exited; see {logs}/bare.log")
            exited.cancel()
            ready.result()
            yield url
        finally:
            await _stop(process)


# -- where a service's time goes (--profile) ------------------------------------------

_PATH: contextvars.ContextVar[str] = contextvars.ContextVar(
    "path", default="(background)"
)


def serve_profiled(factory: str, port: int, out: str) -> None:
    """Run a service's app under cProfile (``--profile``), counting per request path
    the requests and the SQL statements sent (SQLAlchemy engine events); on exit
    (SIGTERM) the profile goes to ``out`` and the counts to ``out``.json."""
    import cProfile
    import importlib

    import uvicorn
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    requests: dict[str, int] = {}
    statements: dict[str, int] = {}

    def count(*_args: Any) -> None:
        path = _PATH.get()
        statements[path] = statements.get(path, 0) + 1

    event.listen(Engine, "before_cursor_execute", count)
    module, name = factory.split(":")
    app = getattr(importlib.import_module(module), name)()

    async def counted(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            requests[scope["path"]] = requests.get(scope["path"], 0) + 1
            _PATH.set(scope["path"])
        await app(scope, receive, send)

    def stop(_signum: int, _frame: Any) -> None:
        raise SystemExit(0)

    # uvicorn re-raises the signal it stopped on once it has shut down: exit
    # through ``finally`` then, so the profile is written.
    signal.signal(signal.SIGTERM, stop)
    profiler = cProfile.Profile(time.process_time)  # CPU time, not wall time
    profiler.enable()
    try:
        uvicorn.run(counted, host="127.0.0.1", port=port, log_level="info")
    finally:
        profiler.disable()
        profiler.dump_stats(out)
        Path(out + ".json").write_text(
            json.dumps({"requests": requests, "statements": statements})
        )


async def profile_service(
    read: Read, databases: dict[str, str], kafka: str, logs: str, args: Any
) -> dict[str, Any]:
    """A second process of ``read``'s service on the same database, under cProfile,
    loaded as in the timed run; prints where its time went and the statements per
    request."""
    import pstats

    port = _free_port_block(1)
    out = os.path.join(logs, f"{read.name}.prof")
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "ENVIRONMENT": os.environ.get("ENVIRONMENT", "development"),
        "DATABASE_URL": databases[read.service],
    }
    factory = f"{SERVICE_MODULES[read.service]}:build_app"
    with _log(logs, f"{read.name}.profiled.log") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.reads", "--serve-profiled", factory,
            "--port", str(port), "--out", out,
            env=env, stdout=log, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            await _ready(url, read.service)
            figures = await load(
                {
                    "warmup_s": args.warmup,
                    "seconds": args.seconds,
                    "headers": {"authorization": f"Bearer {read.bearer}"},
                    "method": read.method,
                    "url": url + read.path,
                    "params": read.params,
                    "json": read.body,
                },
                args.clients,
                args.load_processes,
            )
        finally:
            await _stop(process)
    counts = json.loads(await asyncio.to_thread(Path(out + ".json").read_text))
    served = counts["requests"].get(read.path, 0)
    sent = counts["statements"].get(read.path, 0)
    per_request = round(sent / served, 1) if served else None
    print(
        f"{read.name} under cProfile: {figures['rps']} req/s, {served} requests, "
        f"{per_request} SQL statements per request; CPU time by function (own, then the "
        "project's code cumulative):"
    )
    stats = pstats.Stats(out)
    stats.sort_stats("tottime").print_stats(args.profile_lines)
    stats.sort_stats("cumulative").print_stats("services/|chassis/", args.profile_lines)
    return {"statements_per_request": per_request, "profile": out}


# -- seeding --------------------------------------------------------------------------


async def seed_round(p: Platform, mentees: int) -> tuple[str, str, list[str]]:
    """A cohort of one mentor (``mentees`` seats) and ``mentees`` mentees, matched
    in one round, through GraphQL: (coordinator token, round id, mentee ids)."""
    tenant = new_tenant()
    admin = token("admin-1", tenant, Role.ADMIN, Role.COORDINATOR)
    print(f"seeding a round of {mentees} mentees through GraphQL ...", flush=True)
    ids = await journey.import_organisation(p, admin, mentees=mentees)
    await p.graphql(
        journey.COMPETENCY,
        {"i": {"competencyId": "strategy", "name": "Strategic thinking"}},
        bearer=admin,
    )
    cohort = ok(
        await p.graphql(
            journey.COHORT,
            {"i": {"name": "Leaders 2027", "capacity": mentees}},
            bearer=admin,
        ),
        "createCohort",
        "CohortSuccess",
    )["cohort"]["id"]
    mentor = ids["grace@acme.example"]
    steps: list[tuple[str, dict[str, Any], str, str]] = [
        (
            journey.ROLES,
            {"personId": mentor, "roles": ["MENTOR"]},
            "setProgrammeRoles",
            "PersonSuccess",
        ),
        (
            journey.MENTOR_PROFILE,
            {
                "personId": mentor,
                "strengths": [{"competencyId": "strategy", "proficiency": 5}],
                "formats": ["ONE_TO_ONE"],
                "maxMentees": mentees,
                "hoursPerMonth": 4 * mentees,
                "availability": [{"weekday": 1, "start": "08:00", "end": "12:00"}],
            },
            "setMentorProfile",
            "PersonSuccess",
        ),
        (
            journey.ADMIT,
            {"cohortId": cohort, "personId": mentor, "role": "MENTOR"},
            "admitParticipant",
            "AdmitParticipantSuccess",
        ),
    ]
    people = [pid for pid in ids.values() if pid != mentor]
    for pid in people:
        steps += [
            (
                journey.ROLES,
                {"personId": pid, "roles": ["MENTEE"]},
                "setProgrammeRoles",
                "PersonSuccess",
            ),
            (
                journey.INTAKE,
                {
                    "personId": pid,
                    "goals": [{"competencyId": "strategy", "current": 2, "target": 4}],
                    "hoursPerMonth": 4,
                    "preferredFormats": ["ONE_TO_ONE"],
                },
                "submitIntake",
                "PersonSuccess",
            ),
            (
                journey.ADMIT,
                {"cohortId": cohort, "personId": pid},
                "admitParticipant",
                "AdmitParticipantSuccess",
            ),
        ]
    for document, values, field, success in steps:
        ok(await p.graphql(document, {"i": values}, bearer=admin), field, success)
    await journey.until_matching_sees(p, local(cohort), mentees + 1)
    result = (
        await p.graphql(
            journey.ROUND, {"i": {"cohortId": cohort, "wait": True}}, bearer=admin
        )
    )["data"]["startMatchingRound"]
    assert result["__typename"] == "MatchingRoundSuccess", result
    assert result["round"]["proposedCount"] == mentees, result
    coordinator = token("coordinator-1", tenant, Role.COORDINATOR)
    return coordinator, local(result["round"]["id"]), [local(i) for i in people]


async def settled(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], milestones: int
) -> None:
    """Wait until insights has folded every milestone into the scorecard."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        r = await http.get(url, headers=headers)
        if r.status_code == 200:
            if r.json()["behaviour"]["milestones"]["set"] >= milestones:
                return
        await asyncio.sleep(0.5)
    raise TimeoutError("insights did not see every milestone in 120 s")


# -- the run --------------------------------------------------------------------------


class Read(NamedTuple):
    name: str
    service: str
    method: str
    path: str  # the same on the service and (after /<service>) on the bare app
    params: dict[str, Any] | None
    body: Any
    bearer: str


def _first_difference(a: Any, b: Any, where: str = "$") -> str:
    if type(a) is not type(b) and not (
        isinstance(a, int | float) and isinstance(b, int | float)
    ):
        return f"{where}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{where}.{key}: only in {'service' if key in a else 'bare'}"
            if a[key] != b[key]:
                return _first_difference(a[key], b[key], f"{where}.{key}")
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{where}: {len(a)} items != {len(b)}"
        for n, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{where}[{n}]")
    return f"{where}: {a!r} != {b!r}"


async def same_answer(
    http: httpx.AsyncClient, read: Read, urls: dict[str, str], logs: str
) -> int:
    """Ask both once; their JSON must be equal. The number of items answered."""
    answers = []
    for contender, url in urls.items():
        r = await http.request(
            read.method,
            url + read.path,
            params=read.params,
            json=read.body,
            headers={"authorization": f"Bearer {read.bearer}"},
        )
        assert r.status_code == 200, f"{read.name} at {url}: {r.status_code} {r.text}"
        answers.append(r.json())
        kept = Path(logs) / f"{read.name}.{contender}.json"
        await asyncio.to_thread(kept.write_text, r.text)
    service, bare = answers
    if read.name == "scorecard":  # "now": the moment each was asked, not the same
        for card in answers:
            datetime.fromisoformat(card.pop("as_of"))
    if service != bare:
        raise AssertionError(
            f"{read.name}: the bare answer differs from the service's: "
            + _first_difference(service, bare)
        )
    if isinstance(service, list):
        return len(service)
    if "items" in service:
        return len(service["items"])
    return int(service["behaviour"]["milestones"]["set"])  # a scorecard's milestones


async def main(args: argparse.Namespace) -> dict[str, Any]:
    logs = tempfile.mkdtemp(prefix="bench-reads-")
    os.environ.update(RATE_LIMITS)  # inherited by the launcher and the bare process
    prefix = f"bench_{os.getpid()}_{int(time.time()) % 100000}"
    results: dict[str, dict[str, Any]] = {}
    started = time.monotonic()
    with postgres_server(durable=True) as pg, kafka_broker() as kafka:
        async with separate_platform(pg, kafka, logs, prefix=prefix) as p:
            as_mentee, _gid, mentee, rel_gid = await seed(p, args.items)
            rel = local(rel_gid)
            coordinator, round_id, people = await seed_round(p, args.items)
            print(f"seeded in {time.monotonic() - started:.0f} s", flush=True)
            reads = [
                Read(
                    "sessions", "sessions", "GET",
                    f"/relationships/{rel}/sessions", None, None, as_mentee,
                ),
                Read(
                    "milestones", "sessions", "GET",
                    f"/relationships/{rel}/milestones", None, None, as_mentee,
                ),
                Read(
                    "scorecard", "insights", "GET", f"/scorecards/mentees/{mentee}",
                    None, None, as_mentee,
                ),
                Read(
                    "people", "profiles", "POST", "/people/batch", None,
                    {"ids": people[: args.items]}, coordinator,
                ),
                Read(
                    "proposals", "matching", "GET", "/pairings",
                    {"round_id": round_id, "limit": 200}, None, coordinator,
                ),
            ]  # fmt: skip
            selected = [r for r in reads if not args.only or r.name in args.only]
            databases = {name: pg.url_for(f"{prefix}_{name}") for name in SERVICES}
            async with (
                bare_process(databases, logs) as bare_url,
                httpx.AsyncClient(timeout=60) as http,
            ):
                await settled(
                    http,
                    p.service_urls["insights"] + reads[2].path,
                    {"authorization": f"Bearer {as_mentee}"},
                    args.items,
                )
                urls_of = {
                    read.name: {
                        "service": p.service_urls[read.service],
                        "bare": f"{bare_url}/{read.service}",
                    }
                    for read in selected
                }
                counts, differ = {}, []
                for read in selected:
                    try:
                        counts[read.name] = await same_answer(
                            http, read, urls_of[read.name], logs
                        )
                    except AssertionError as exc:
                        differ.append(str(exc))
                if differ:
                    raise AssertionError("\n".join(differ))
                rounds: dict[str, dict[str, list[dict[str, Any]]]] = {
                    read.name: {"service": [], "bare": []} for read in selected
                }
                loads: dict[str, list[float]] = {read.name: [] for read in selected}
                for n in range(args.rounds):
                    for read in selected:
                        for contender, base in urls_of[read.name].items():
                            print(
                                f"round {n + 1}/{args.rounds} {read.name}: "
                                f"{contender}, {args.clients} clients from "
                                f"{args.load_processes} load processes, "
                                f"{args.seconds}s",
                                flush=True,
                            )
                            rounds[read.name][contender].append(
                                await load(
                                    {
                                        "warmup_s": args.warmup,
                                        "seconds": args.seconds,
                                        "headers": {
                                            "authorization": f"Bearer {read.bearer}"
                                        },
                                        "method": read.method,
                                        "url": base + read.path,
                                        "params": read.params,
                                        "json": read.body,
                                    },
                                    args.clients,
                                    args.load_processes,
                                )
                            )
                        loads[read.name].append(os.getloadavg()[0])
                for read in selected:
                    figures: dict[str, Any] = {"items": counts[read.name]}
                    for contender, runs in rounds[read.name].items():
                        figures[contender] = median_round(runs)
                    bare_rps = figures["bare"]["rps"]
                    figures["ratio"] = (
                        round(figures["service"]["rps"] / bare_rps, 3)
                        if bare_rps
                        else None
                    )
                    figures["load_average_1m"] = round(
                        statistics.median(loads[read.name]), 2
                    )
                    results[read.name] = figures
                for read in selected:
                    ratio = results[read.name]["ratio"]
                    if read.name in (args.profile or ()) or (
                        args.profile_below and ratio is not None
                        and ratio < args.profile_below
                    ):  # fmt: skip
                        try:
                            results[read.name]["profiled"] = await profile_service(
                                read, databases, kafka, logs, args
                            )
                        except Exception as exc:  # the figures stand without it
                            print(f"{read.name}: profiling failed: {exc!r}")
    return report(results, args)


def median_round(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median req/s (its latencies), every round's req/s and
    the errors of all rounds."""
    ordered = sorted(runs, key=lambda r: r["rps"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["rounds_rps"] = [r["rps"] for r in runs]
    chosen["errors"] = sum(r["errors"] for r in runs)
    return chosen


def report(
    results: dict[str, dict[str, Any]], args: argparse.Namespace
) -> dict[str, Any]:
    print()
    print(
        f"{'read':11} {'items':>5} {'service/s':>10} {'bare/s':>8} {'ratio':>6} "
        f"{'svc p50':>8} {'svc p99':>8} {'bare p50':>8} {'bare p99':>8} "
        f"{'errors':>7} {'load1':>6}"
    )
    for name, f in results.items():
        s, b = f["service"], f["bare"]
        print(
            f"{name:11} {f['items']:5} {s['rps']:10} {b['rps']:8} {f['ratio']!s:>6} "
            f"{s['p50_ms']!s:>8} {s['p99_ms']!s:>8} {b['p50_ms']!s:>8} "
            f"{b['p99_ms']!s:>8} {s['errors'] + b['errors']:7} "
            f"{f['load_average_1m']:6}"
        )
    ratios = [f["ratio"] for f in results.values() if f["ratio"] is not None]
    ratio_min = min(ratios) if ratios else None
    print(
        "latencies in ms; ratio = service req/s / bare req/s   goal: every ratio >= 0.5"
    )
    load_avg = os.getloadavg()
    print(f"load average: {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}")
    result = {
        "benchmark": "reads",
        "ratio_min": ratio_min,
        "reads": {
            name: {
                "items": f["items"],
                "service_rps": f["service"]["rps"],
                "bare_rps": f["bare"]["rps"],
                "ratio": f["ratio"],
                "service_p50_ms": f["service"]["p50_ms"],
                "service_p99_ms": f["service"]["p99_ms"],
                "bare_p50_ms": f["bare"]["p50_ms"],
                "bare_p99_ms": f["bare"]["p99_ms"],
                "errors": f["service"]["errors"] + f["bare"]["errors"],
                "service_rounds_rps": f["service"]["rounds_rps"],
                "bare_rounds_rps": f["bare"]["rounds_rps"],
                "load_average_1m": f["load_average_1m"],
                **(
                    {
                        "service_statements_per_request": f["profiled"][
                            "statements_per_request"
                        ]
                    }
                    if "profiled" in f
                    else {}
                ),
            }
            for name, f in results.items()
        },
        "processes": "separate",
        "clients": args.clients,
        "load_processes": args.load_processes,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "cpu_cores": os.cpu_count(),
        "load_average_1m": round(load_avg[0], 2),
    }
    print(json.dumps(result))
    return result


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds; the contenders take turns in each, the median round is shown",
    )
    parser.add_argument("--items", type=int, default=ITEMS)
    parser.add_argument("--load-processes", type=int, default=2)
    parser.add_argument(
        "--profile",
        nargs="*",
        help="reads whose service to profile afterwards (cProfile, SQL statements)",
    )
    parser.add_argument(
        "--profile-below",
        type=float,
        default=0.0,
        help="also profile every read whose ratio is below this (e.g. 0.5)",
    )
    parser.add_argument("--profile-lines", type=int, default=25)
    parser.add_argument("--serve-profiled", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument(
        "--only",
        nargs="*",
        help="some of: sessions milestones scorecard people proposals",
    )
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.serve_profiled:
        serve_profiled(arguments.serve_profiled, arguments.port, arguments.out)
    else:
        asyncio.run(main(arguments))
