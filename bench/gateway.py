"""Gateway benchmark: a portal's mentee dashboard through GraphQL vs hand-written.

    python -m bench.gateway                      # about 3 to 4 minutes on 2 cores
    python -m bench.gateway --clients 50 --seconds 10

Deployed as Tandem is deployed: every service and the gateway run as their own
processes (``python -m launcher.real``: one ``uvicorn`` process each) on the real
PostgreSQL server (durable settings) and the real Kafka broker. One mentee is taken
through the whole journey via GraphQL (HRIS import, round, approval, acceptance,
contract, 50 sessions held, 50 milestones, one achieved). Then 50 concurrent clients
ask for the mentee's dashboard (profile, current relationship with its mentor, the
sessions, the milestones, the scorecard):

* **gateway**: one GraphQL query (``DASHBOARD`` below) per request;
* **handwritten**: a FastAPI endpoint written for exactly this page, in its own
  ``uvicorn`` process, calling the same services directly with pooled HTTP clients
  and running independent calls concurrently: the no-GraphQL limit.

The load comes from separate processes (``--load-processes``, default 2), each
running its share of the clients as asyncio loops over keep-alive connections, so
the client's own work is not charged to either contender's process. The contenders
take turns (``--rounds``, default 3, in the other order each round): requests/s is
the median round's, the ratio the median of the rounds' ratios (each compares two
windows next to each other), p50 and p99 are taken over every request of every
round. It prints requests/s, latency p50/p99 and errors for both, the ratio, the CPU
time each contender's own process spent per request answered (robust on a shared
machine, where requests/s are not), and the upstream calls one dashboard query makes
at list lengths 1 and 50 (from ``extensions.upstreamCalls``).

It also prints the physical limit: the CPU the whole machine spent per request
within the timed window (``/proc/stat``), the load processes' own share taken out,
caps the rate at cores / that cost, and 50 clients that each wait for their answer
then wait on average 50 / that rate (Little's law): the latency floor no scheduling
beats at that cost, and the cost per request a p99 under 300 ms would need.

Last line: JSON with ``gateway_rps``, ``handwritten_rps``, ``ratio``, ``p99_ms``,
``errors``, ``gateway_cpu_ms_per_query``, ``machine_cpu_ms_per_query``,
``cpu_bound_rps``, ``latency_floor_ms``, ``upstream_calls_per_query`` and
``processes: "separate"``. Goals (targets, not tests): ratio >= 0.8, zero errors,
p99 < 300 ms at 50 clients on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from sqlalchemy.ext.asyncio import create_async_engine

from bench._infra import CpuMeter, postgres_server
from chassis.auth import Role
from gateway.settings import SERVICES
from tests.gateway import journey
from tests.gateway.journey import local
from tests.gateway.platform import Platform, new_tenant, token

DASHBOARD = """
query Dashboard($n: Int!, $mentee: ID!) {
  me { id givenName familyName title businessUnit goals { competencyId } }
  relationships(first: 1) { edges { node { id status startsOn plannedEndOn
    contract { version inForce }
    mentor { id givenName familyName title }
    sessions(first: $n) { edges { node { id startsAt state agenda } } }
    milestones(first: $n) { edges { node { id label state dueOn } } } } } }
  menteeScorecard(menteeId: $mentee) {
    skillGrowth { meanChange goalsReached }
    behaviouralChange { milestones { set achieved onTime completionRate } }
  }
}
"""
P99_GOAL_MS = 300  # the target at 50 clients (printed, not asserted)


@contextlib.contextmanager
def kafka_broker() -> Iterator[str]:
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external
        return
    from deploy.local.kafka import KafkaBroker

    broker = KafkaBroker()
    print("Kafka: starting a private single-node broker ...", flush=True)
    broker.start()
    try:
        yield broker.bootstrap_servers
    finally:
        broker.close()


def handwritten_app(urls: dict[str, str]) -> FastAPI:
    """The same page, hand-written against the services' HTTP APIs, over the same
    lean keep-alive client the gateway uses (``gateway.http11``): the contender pays
    no more for its HTTP calls than the gateway does."""
    from urllib.parse import urlencode

    from gateway.http11 import ServicePool

    pools = {
        name: ServicePool(url, timeout=30, max_connections=100)
        for name, url in urls.items()
    }
    app = FastAPI()

    @app.get("/dashboard")
    async def dashboard(request: Request, n: int = 50) -> Response:
        headers = {"authorization": request.headers["authorization"]}
        me = request.query_params["me"]

        def check(answer: Any) -> Any:
            if answer.status_code >= 400:
                raise RuntimeError(f"a service answered {answer.status_code}")
            return json.loads(answer.content)

        async def get(service: str, path: str, params: Any = None) -> Any:
            target = f"{path}?{urlencode(params)}" if params else path
            return check(await pools[service].request("GET", target, headers))

        async def post(service: str, path: str, body: Any) -> Any:
            sent = {**headers, "content-type": "application/json"}
            data = json.dumps(body).encode()
            return check(await pools[service].request("POST", path, sent, data))

        person, rels, card = await asyncio.gather(
            get("profiles", f"/people/{me}"),
            get("sessions", "/relationships", params={"person_id": me}),
            get("insights", f"/scorecards/mentees/{me}"),
        )
        rel = rels[0] if rels else None
        current: dict[str, Any] | None = None
        if rel is not None:
            rid = rel["relationship_id"]
            mentor, sessions, milestones = await asyncio.gather(
                get("profiles", f"/people/{rel['mentor_id']}"),
                post(
                    "sessions",
                    "/sessions/batch-by-relationship",
                    {"relationship_ids": [rid]},
                ),
                get("sessions", f"/relationships/{rid}/milestones"),
            )
            items = milestones if isinstance(milestones, list) else milestones["items"]
            current = {
                **rel,
                "mentor": mentor,
                "sessions": sessions["items"][:n],
                "milestones": items[:n],
            }
        page = {"me": person, "relationship": current, "scorecard": card}
        return Response(json.dumps(page), media_type="application/json")

    app.state.pools = pools
    return app


def _free_port_block(count: int) -> int:
    """A base port with ``count`` free ports after it (for launcher.real)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + count >= 65000:
            continue
        free = True
        for port in range(base, base + count):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    free = False
                    break
        if free:
            return base
    raise RuntimeError("no block of free ports")


def _log(folder: str, name: str) -> Any:
    """A process's log file (its output is read only when something fails)."""
    return open(os.path.join(folder, name), "w")


async def _spawn(
    *args: str, log: Any, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )


# The 50 clients share ONE mentee's token, some 100 dashboards a second: 300 calls a
# second to sessions from one person, past the per-person limit a real person is
# held to (10,000 a minute, ``chassis.http.ratelimit``), which then refuses the
# rest of the minute with 429. The benchmark measures the dashboard, not the
# limiter: the per-token limit is raised far above the load, so every request is
# still counted (the limiter's cost stays in the figures) and none is refused.
PLATFORM_ENV = {"RATE_LIMIT_PER_TOKEN_PER_MINUTE": "10000000"}


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            await process.wait()


class ProcessEnded(RuntimeError):
    """The process being waited for ended before it was ready."""


async def _ready(
    url: str,
    what: str,
    timeout_s: float = 180,
    process: asyncio.subprocess.Process | None = None,
) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            if process is not None and process.returncode is not None:
                raise ProcessEnded(f"{what} ended before it was ready")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{url}/readyz")).status_code == 200:
                    return
                if (
                    what == "handwritten"
                    and (await http.get(f"{url}/healthz")).status_code == 200
                ):
                    return
            await asyncio.sleep(0.25)
    raise TimeoutError(f"{what} at {url} was not ready in {timeout_s:.0f} s")


@contextlib.asynccontextmanager
async def separate_platform(
    pg: Any, kafka: str, logs: str, prefix: str | None = None
) -> AsyncIterator[Platform]:
    """``launcher.real``: the five services and the gateway, one process each; their
    databases are ``<prefix>_<service>`` on ``pg`` (a fresh prefix unless given).

    The ports are free when chosen but not held: on a busy machine another process
    can take one before its service binds it. The launcher then stops, and the
    platform is started again on another block of ports (up to three times)."""
    prefix = prefix or f"bench_{uuid.uuid4().hex[:8]}"
    for attempt in range(1, 4):
        base = _free_port_block(len(SERVICES) + 1)
        urls = {
            name: f"http://127.0.0.1:{base + 1 + i}" for i, name in enumerate(SERVICES)
        }
        gateway_url = f"http://127.0.0.1:{base}"
        log = _log(logs, f"launcher-{attempt}.log")
        runner = await _spawn(
            "-m",
            "launcher.real",
            "--database-url",
            pg.admin_url,
            "--kafka",
            kafka,
            "--base-port",
            str(base),
            "--database-prefix",
            prefix,
            "--data",
            logs,
            log=log,
            env=PLATFORM_ENV,
        )
        try:
            for name, url in {"gateway": gateway_url, **urls}.items():
                await _ready(url, name, process=runner)
            break
        except ProcessEnded:
            await _stop(runner)
            log.close()
            if attempt == 3:
                raise
            print(
                "the platform stopped while starting (a port taken meanwhile?): "
                "starting it again on other ports",
                flush=True,
            )
        except BaseException:
            await _stop(runner)
            log.close()
            raise
    try:
        engine = create_async_engine(pg.url_for(f"{prefix}_matching"))
        # journey.until_matching_sees reads matching's candidate view.
        matching = SimpleNamespace(
            state=SimpleNamespace(runtime=SimpleNamespace(engine=engine))
        )
        async with httpx.AsyncClient(timeout=60) as client:
            yield Platform(
                gateway_url,
                urls,
                {"matching": matching},  # type: ignore[dict-item]
                None,  # type: ignore[arg-type]
                client,
            )
        await engine.dispose()
    finally:
        await _stop(runner)
        log.close()


@contextlib.asynccontextmanager
async def handwritten_process(urls: dict[str, str], logs: str) -> AsyncIterator[str]:
    """The hand-written endpoint in its own uvicorn process."""
    port = _free_port_block(1)
    with _log(logs, "handwritten.log") as log:
        process = await _spawn(
            "-m",
            "bench.gateway",
            "--serve-handwritten",
            json.dumps(urls),
            "--port",
            str(port),
            log=log,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            await _ready(url, "handwritten")
            yield url
        finally:
            await _stop(process)


def serve_handwritten(urls: dict[str, str], port: int) -> None:
    import uvicorn

    from chassis.heap import settle

    app = handwritten_app(urls)

    # The collector tuned as in every Tandem process (chassis.heap): the same
    # runtime for both contenders.
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        settle()
        yield

    app.router.lifespan_context = lifespan

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


# -- the load: separate processes -------------------------------------------------


async def load_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One load process: ``spec["clients"]`` loops calling one request until the
    end of the window; latencies of the requests started after the warm-up, the
    requests answered within the timed window and this process's CPU in it."""
    latencies: list[float] = []
    errors: list[str] = []
    answered = 0  # requests answered within the timed window (for CPU per request)
    start_at = spec["start_at"]  # wall clock, shared by every load process
    await asyncio.sleep(max(0.0, start_at - time.time()))
    measure_from = time.monotonic() + spec["warmup_s"]
    stop_at = measure_from + spec["seconds"]
    cpu: list[float] = []

    async def cpu_meter() -> None:  # this process's CPU at both ends of the window
        for moment in (measure_from, stop_at):
            await asyncio.sleep(max(0.0, moment - time.monotonic()))
            cpu.append(time.process_time())

    meter = asyncio.create_task(cpu_meter())
    limits = httpx.Limits(max_connections=500, max_keepalive_connections=500)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:

        async def one() -> None:
            r = await http.request(
                spec["method"],
                spec["url"],
                params=spec.get("params"),
                json=spec.get("json"),
                headers=spec["headers"],
            )
            if r.status_code != 200:
                raise RuntimeError(f"{r.status_code}: {r.text[:200]}")
            if spec.get("graphql"):
                body = r.json()
                if body.get("errors"):
                    raise RuntimeError(str(body["errors"])[:200])

        async def client() -> None:
            nonlocal answered
            while time.monotonic() < stop_at:
                t0 = time.monotonic()
                try:
                    await one()
                except Exception as exc:
                    if t0 >= measure_from:
                        errors.append(str(exc))
                    continue
                t1 = time.monotonic()
                if measure_from <= t1 < stop_at:
                    answered += 1
                if t0 >= measure_from:
                    latencies.append(t1 - t0)

        await asyncio.gather(*(client() for _ in range(spec["clients"])))
    await meter
    return {
        "latencies": latencies,
        "errors": errors,
        "answered": answered,
        "cpu_s": cpu[1] - cpu[0],
    }


def machine_busy_seconds() -> float:
    """CPU time every core of the machine spent busy so far (``/proc/stat``: all
    but idle and iowait; guest time is already in user and nice), in seconds."""
    with open("/proc/stat") as stat:
        fields = [int(f) for f in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None) -> float | None:
    """CPU time (user + system) a process has used so far (None where unknown)."""
    if pid is None:
        return None
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serving_pid(port: int) -> int | None:
    """The process whose command line serves ``--port port`` (launcher.real's)."""
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            with contextlib.suppress(OSError):
                args = open(f"/proc/{entry}/cmdline", "rb").read().split(b"\0")
                if b"--port" in args and args[args.index(b"--port") + 1 :][:1] == [
                    str(port).encode()
                ]:
                    return int(entry)
    return None


async def load(
    spec: dict[str, Any],
    clients: int,
    processes: int,
    pid: int | None = None,
    services: dict[str, int | None] | None = None,
    postgres: CpuMeter | None = None,
) -> dict[str, Any]:
    """``clients`` spread over ``processes`` load processes; merged figures, and
    the CPU that the process ``pid`` (the contender), each of ``services`` (name
    → process), PostgreSQL, the load processes and the whole machine used per
    request answered, all within the timed window (after the warm-up)."""
    shares = [
        clients // processes + (i < clients % processes) for i in range(processes)
    ]
    start_at = time.time() + 2.0  # every process imported and connected by then
    workers = []
    for share in shares:
        if share:
            workers.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bench.gateway",
                    "--load-worker",
                    json.dumps({**spec, "clients": share, "start_at": start_at}),
                    stdout=asyncio.subprocess.PIPE,
                )
            )
    processes_metered = {"contender": pid, **(services or {})}

    def snapshot() -> dict[str, float | None]:
        taken: dict[str, float | None] = {
            name: cpu_seconds(p) for name, p in processes_metered.items()
        }
        taken["postgres"] = postgres.snapshot()[1] if postgres is not None else None
        taken["machine"] = machine_busy_seconds()
        return taken

    async def window() -> tuple[dict[str, float | None], dict[str, float | None]]:
        await asyncio.sleep(max(0.0, start_at + spec["warmup_s"] - time.time()))
        before = snapshot()
        await asyncio.sleep(spec["seconds"])
        return before, snapshot()

    metered = asyncio.create_task(window())
    latencies: list[float] = []
    errors: list[str] = []
    answered = 0
    load_cpu = 0.0
    for w in workers:
        out, _ = await w.communicate()
        result = json.loads(out.decode().strip().splitlines()[-1])
        latencies += result["latencies"]
        errors += result["errors"]
        answered += result["answered"]
        load_cpu += result["cpu_s"]
    before, after = await metered

    def per_request(name: str) -> float | None:
        b, a = before.get(name), after.get(name)
        if b is None or a is None or not answered:
            return None
        return round((a - b) * 1000 / answered, 1)

    latencies.sort()
    seconds = spec["seconds"]
    if errors:
        print(f"  {len(errors)} errors, e.g. {errors[0]}", flush=True)
    services_ms = {
        name: ms for name in services or {} if (ms := per_request(name)) is not None
    }
    return {
        "latencies": latencies,
        "requests": len(latencies),
        "rps": round(len(latencies) / seconds, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 1)
        if latencies
        else None,
        "errors": len(errors),
        "cpu_ms_per_request": per_request("contender"),
        "services_cpu_ms_per_request": services_ms,
        "postgres_cpu_ms_per_request": per_request("postgres"),
        "load_cpu_ms_per_request": round(load_cpu * 1000 / answered, 1)
        if answered
        else None,
        "machine_cpu_ms_per_request": per_request("machine"),
    }


def combine(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One contender's rounds as one figure: requests/s and every CPU figure the
    median round's, p50 and p99 over every request of every round, errors summed."""

    def median(values: list[Any]) -> Any:
        known = [v for v in values if v is not None]
        return round(statistics.median(known), 1) if known else None

    latencies = sorted(t for r in rounds for t in r["latencies"])
    services = {name for r in rounds for name in r["services_cpu_ms_per_request"]}
    return {
        "rps": median([r["rps"] for r in rounds]),
        "rounds_rps": [r["rps"] for r in rounds],
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 1)
        if latencies
        else None,
        "errors": sum(r["errors"] for r in rounds),
        "services_cpu_ms_per_request": {
            name: median([r["services_cpu_ms_per_request"].get(name) for r in rounds])
            for name in sorted(services)
        },
        **{
            key: median([r[key] for r in rounds])
            for key in (
                "cpu_ms_per_request",
                "postgres_cpu_ms_per_request",
                "load_cpu_ms_per_request",
                "machine_cpu_ms_per_request",
            )
        },
    }


def cpu_budget(r: dict[str, Any], clients: int, cores: int) -> dict[str, Any]:
    """The physical limit of a contender on this machine: the CPU one request
    costs the machine, the load processes' own share taken out, caps the rate at
    ``cores`` / that cost; and ``clients`` that each wait for their answer before
    asking again wait, on average, ``clients`` / rate (Little's law) - the mean
    latency no scheduling can beat at that cost. A p99 under ``P99_GOAL_MS`` needs
    at least a mean under it, so a cost per request under ``cores`` x the goal /
    ``clients``."""
    machine = r["machine_cpu_ms_per_request"]
    load_ms = r["load_cpu_ms_per_request"] or 0.0
    if not machine:
        return {"cpu_ms_per_request": None, "cpu_bound_rps": None, "floor_ms": None}
    served = max(machine - load_ms, 0.1)
    bound = cores * 1000 / served
    return {
        "cpu_ms_per_request": round(served, 1),
        "cpu_bound_rps": round(bound, 1),
        "floor_ms": round(clients / bound * 1000, 1),
        "goal_cpu_ms_per_request": round(cores * P99_GOAL_MS / clients, 1),
    }


async def seed(p: Platform, items: int) -> tuple[str, str, str, str]:
    """One mentee's journey through GraphQL: (mentee token, mentee global id,
    mentee local id, relationship id)."""
    tenant = new_tenant()
    admin = token("admin-1", tenant, Role.ADMIN, Role.COORDINATOR)
    print("seeding one mentee's journey through GraphQL ...", flush=True)
    ids = await journey.import_organisation(p, admin, mentees=1)
    cohort = await journey.enrol(p, admin, ids)
    pair = (await journey.run_round(p, admin, cohort, mentees=1))[0]
    # started before the first of the ``items`` sessions ``develop`` holds, a day apart
    started = datetime.now(UTC).date() - timedelta(days=items + 2)
    await journey.confirm(p, tenant, admin, pair, starts_on=started)
    mentee, mentor = local(pair["mentee"]["id"]), local(pair["mentor"]["id"])
    as_mentee = token(mentee, tenant, Role.MENTEE)
    as_mentor = token(mentor, tenant, Role.MENTOR)
    rel = await journey.relationship_of(p, as_mentee)
    await journey.develop(p, rel, as_mentor, as_mentee, sessions=items)
    for k in range(items - 1):
        await p.graphql(
            journey.MILESTONE,
            {
                "i": {
                    "relationshipId": rel,
                    "objectiveIndex": 0,
                    "label": f"Step {k}",
                    "dueOn": "2027-06-30",
                    "criteria": ["done"],
                }
            },
            bearer=as_mentee,
        )
    return as_mentee, pair["mentee"]["id"], mentee, rel


async def main(args: argparse.Namespace) -> dict[str, Any]:
    logs = tempfile.mkdtemp(prefix="bench-gateway-")
    with postgres_server(durable=True) as pg, kafka_broker() as kafka:
        async with separate_platform(pg, kafka, logs) as p:
            as_mentee, mentee_gid, mentee, _rel = await seed(p, args.items)
            gw = f"{p.gateway_url}/graphql"
            auth = {"authorization": f"Bearer {as_mentee}"}
            calls = {}
            for n in (1, args.items):
                body = await p.graphql(
                    DASHBOARD, {"n": n, "mentee": mentee_gid}, bearer=as_mentee
                )
                node = body["data"]["relationships"]["edges"][0]["node"]
                assert len(node["sessions"]["edges"]) == n
                assert len(node["milestones"]["edges"]) == n
                calls[n] = body["extensions"]["upstreamCalls"]
            common = {"warmup_s": 2.0, "seconds": args.seconds, "headers": auth}
            async with handwritten_process(p.service_urls, logs) as hand_url:
                gateway_pid = serving_pid(int(p.gateway_url.rsplit(":", 1)[1]))
                hand_pid = serving_pid(int(hand_url.rsplit(":", 1)[1]))
                service_pids = {
                    name: serving_pid(int(url.rsplit(":", 1)[1]))
                    for name, url in p.service_urls.items()
                }
                specs = {
                    "gateway": (
                        {
                            **common,
                            "method": "POST",
                            "url": gw,
                            "json": {
                                "query": DASHBOARD,
                                "variables": {"n": args.items, "mentee": mentee_gid},
                            },
                            "graphql": True,
                        },
                        gateway_pid,
                    ),
                    "handwritten": (
                        {
                            **common,
                            "method": "GET",
                            "url": f"{hand_url}/dashboard",
                            "params": {"me": mentee, "n": args.items},
                        },
                        hand_pid,
                    ),
                }
                # The contenders take turns, in the other order each round, so a
                # machine getting faster or slower favours neither; each round's
                # ratio compares two windows next to each other.
                runs: dict[str, list[dict[str, Any]]] = {name: [] for name in specs}
                for round_no in range(args.rounds):
                    order = list(specs) if round_no % 2 == 0 else list(specs)[::-1]
                    for name in order:
                        spec, contender_pid = specs[name]
                        print(
                            f"round {round_no + 1}/{args.rounds}, {name}: "
                            f"{args.clients} clients from {args.load_processes} "
                            f"load processes, {args.seconds}s",
                            flush=True,
                        )
                        runs[name].append(
                            await load(
                                spec,
                                args.clients,
                                args.load_processes,
                                contender_pid,
                                service_pids,
                                CpuMeter(pg),
                            )
                        )
                        r = runs[name][-1]
                        print(
                            f"  {r['rps']} req/s, p50 {r['p50_ms']} ms, p99 "
                            f"{r['p99_ms']} ms, {r['errors']} errors",
                            flush=True,
                        )

    gateway, handwritten = combine(runs["gateway"]), combine(runs["handwritten"])
    round_ratios = [
        round(g["rps"] / h["rps"], 3)
        for g, h in zip(runs["gateway"], runs["handwritten"], strict=True)
        if h["rps"]
    ]
    ratio = round(statistics.median(round_ratios), 3) if round_ratios else None
    print()
    print(f"{'contender':12} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, r in (("gateway", gateway), ("handwritten", handwritten)):
        print(
            f"{name:12} {r['rps']:8} {r['p50_ms']!s:>8} {r['p99_ms']!s:>8} {r['errors']:7}"
        )
    print(
        f"ratio (gateway / handwritten), the median round's: {ratio}   goal >= 0.8 "
        f"(rounds: {', '.join(str(r) for r in round_ratios)})"
    )
    print(
        f"CPU per request of the contender's own process: gateway "
        f"{gateway['cpu_ms_per_request']} ms, handwritten "
        f"{handwritten['cpu_ms_per_request']} ms"
    )
    for name, r in (("gateway", gateway), ("handwritten", handwritten)):
        spent = r["services_cpu_ms_per_request"]
        print(
            f"the services' CPU per {name} request: "
            + ", ".join(f"{k} {v} ms" for k, v in spent.items() if v)
            + f" (total {round(sum(spent.values()), 1)} ms)"
        )
    cores = os.cpu_count() or 1
    budgets = {}
    for name, r in (("gateway", gateway), ("handwritten", handwritten)):
        budget = budgets[name] = cpu_budget(r, args.clients, cores)
        named = [
            r["cpu_ms_per_request"],
            *r["services_cpu_ms_per_request"].values(),
            r["postgres_cpu_ms_per_request"],
            r["load_cpu_ms_per_request"],
        ]
        machine = r["machine_cpu_ms_per_request"]
        rest = (
            round(machine - sum(ms for ms in named if ms), 1)
            if machine is not None
            else None
        )
        print(
            f"the machine's CPU per {name} request: {machine} ms (PostgreSQL "
            f"{r['postgres_cpu_ms_per_request']} ms, the load processes "
            f"{r['load_cpu_ms_per_request']} ms, outside every process named here "
            f"{rest} ms: the kernel's network work, the broker); without the load, "
            f"{budget['cpu_ms_per_request']} ms: at most {budget['cpu_bound_rps']} "
            f"req/s on {cores} cores, so {args.clients} clients wait "
            f"{budget['floor_ms']} ms on average at best"
        )
    print(
        f"gateway p99: {gateway['p99_ms']} ms   goal < {P99_GOAL_MS} ms, zero errors "
        f"(at {args.clients} clients it needs at most "
        f"{budgets['gateway'].get('goal_cpu_ms_per_request')} ms of the machine's "
        "CPU per request)"
    )
    print(
        f"upstream calls per dashboard query: list length 1 -> {calls[1]}, "
        f"{args.items} -> {calls[args.items]}"
    )
    load_avg = os.getloadavg()
    print(f"load average: {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}")
    result = {
        "benchmark": "gateway",
        "gateway_rps": gateway["rps"],
        "handwritten_rps": handwritten["rps"],
        "ratio": ratio,
        "p50_ms": gateway["p50_ms"],
        "p99_ms": gateway["p99_ms"],
        "errors": gateway["errors"],
        "handwritten_p50_ms": handwritten["p50_ms"],
        "handwritten_p99_ms": handwritten["p99_ms"],
        "handwritten_errors": handwritten["errors"],
        "rounds": args.rounds,
        "rounds_ratio": round_ratios,
        "rounds_gateway_rps": gateway["rounds_rps"],
        "rounds_handwritten_rps": handwritten["rounds_rps"],
        "gateway_cpu_ms_per_query": gateway["cpu_ms_per_request"],
        "handwritten_cpu_ms_per_request": handwritten["cpu_ms_per_request"],
        "services_cpu_ms_per_gateway_query": gateway["services_cpu_ms_per_request"],
        "services_cpu_ms_per_handwritten_request": handwritten[
            "services_cpu_ms_per_request"
        ],
        "machine_cpu_ms_per_query": budgets["gateway"]["cpu_ms_per_request"],
        "postgres_cpu_ms_per_query": gateway["postgres_cpu_ms_per_request"],
        "load_cpu_ms_per_query": gateway["load_cpu_ms_per_request"],
        "cpu_bound_rps": budgets["gateway"]["cpu_bound_rps"],
        "latency_floor_ms": budgets["gateway"]["floor_ms"],
        "handwritten_cpu_bound_rps": budgets["handwritten"]["cpu_bound_rps"],
        "handwritten_latency_floor_ms": budgets["handwritten"]["floor_ms"],
        "cpu_ms_per_query_for_p99_goal": budgets["gateway"].get(
            "goal_cpu_ms_per_request"
        ),
        "upstream_calls_per_query": {"1": calls[1], str(args.items): calls[args.items]},
        "processes": "separate",
        "load_processes": args.load_processes,
        "clients": args.clients,
        "seconds": args.seconds,
        "cpu_cores": os.cpu_count(),
        "load_average_1m": round(load_avg[0], 2),
    }
    print(json.dumps(result))
    return result


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--load-processes", type=int, default=2)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="turns of each contender, in alternating order; medians are reported",
    )
    parser.add_argument("--serve-handwritten", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--load-worker", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.serve_handwritten:
        serve_handwritten(json.loads(arguments.serve_handwritten), arguments.port)
    elif arguments.load_worker:
        print(json.dumps(asyncio.run(load_worker(json.loads(arguments.load_worker)))))
    else:
        asyncio.run(main(arguments))
