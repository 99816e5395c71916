"""Gateway benchmark: a portal's mentee dashboard through GraphQL vs hand-written.

    python -m bench.gateway                      # about 2 to 3 minutes on 2 cores
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
the client's own work is not charged to either contender's process. It prints
requests/s, latency p50/p99 and errors for both, the ratio, the CPU time each
contender's own process spent per request answered (robust on a shared machine, where
requests/s are not), and the upstream calls one dashboard query makes at list
lengths 1 and 50 (from ``extensions.upstreamCalls``). Last line: JSON with
``gateway_rps``, ``handwritten_rps``, ``ratio``, ``p99_ms``, ``errors``,
``gateway_cpu_ms_per_query``, ``upstream_calls_per_query`` and
``processes: "separate"``. Goals (targets,
not tests): ratio >= 0.8, zero errors, p99 < 300 ms at 50 clients on 2 cores.
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

from bench._infra import postgres_server
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


async def _spawn(*args: str, log: Any) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )


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
    end of the window; latencies of the requests started after the warm-up."""
    latencies: list[float] = []
    errors: list[str] = []
    done = 0  # answered requests, the warm-up's included (for CPU per request)
    start_at = spec["start_at"]  # wall clock, shared by every load process
    await asyncio.sleep(max(0.0, start_at - time.time()))
    measure_from = time.monotonic() + spec["warmup_s"]
    stop_at = measure_from + spec["seconds"]
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
            nonlocal done
            while time.monotonic() < stop_at:
                t0 = time.monotonic()
                try:
                    await one()
                except Exception as exc:
                    if t0 >= measure_from:
                        errors.append(str(exc))
                    continue
                done += 1
                if t0 >= measure_from:
                    latencies.append(time.monotonic() - t0)

        await asyncio.gather(*(client() for _ in range(spec["clients"])))
    return {"latencies": latencies, "errors": errors, "done": done}


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
) -> dict[str, Any]:
    """``clients`` spread over ``processes`` load processes; merged figures, and
    the CPU the process ``pid`` (the contender) and each of ``services`` (name →
    process) used per request answered."""
    shares = [
        clients // processes + (i < clients % processes) for i in range(processes)
    ]
    start_at = time.time() + 2.0  # every process imported and connected by then
    cpu_before = cpu_seconds(pid)
    services_before = {name: cpu_seconds(p) for name, p in (services or {}).items()}
    done = 0
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
    latencies: list[float] = []
    errors: list[str] = []
    for w in workers:
        out, _ = await w.communicate()
        result = json.loads(out.decode().strip().splitlines()[-1])
        latencies += result["latencies"]
        errors += result["errors"]
        done += result["done"]
    cpu_after = cpu_seconds(pid)
    cpu_ms = (
        round((cpu_after - cpu_before) * 1000 / done, 1)
        if cpu_before is not None and cpu_after is not None and done
        else None
    )
    services_ms: dict[str, float] = {}
    for name, before in services_before.items():
        after = cpu_seconds((services or {}).get(name))
        if before is not None and after is not None and done:
            services_ms[name] = round((after - before) * 1000 / done, 1)
    latencies.sort()
    seconds = spec["seconds"]
    if errors:
        print(f"  {len(errors)} errors, e.g. {errors[0]}", flush=True)
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / seconds, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 1)
        if latencies
        else None,
        "errors": len(errors),
        "cpu_ms_per_request": cpu_ms,
        "services_cpu_ms_per_request": services_ms,
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
                print(
                    f"gateway: {args.clients} clients from {args.load_processes} "
                    f"load processes, {args.seconds}s",
                    flush=True,
                )
                gateway = await load(
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
                    args.clients,
                    args.load_processes,
                    gateway_pid,
                    service_pids,
                )
                print(
                    f"handwritten: {args.clients} clients, {args.seconds}s", flush=True
                )
                handwritten = await load(
                    {
                        **common,
                        "method": "GET",
                        "url": f"{hand_url}/dashboard",
                        "params": {"me": mentee, "n": args.items},
                    },
                    args.clients,
                    args.load_processes,
                    hand_pid,
                    service_pids,
                )

    ratio = (
        round(gateway["rps"] / handwritten["rps"], 3) if handwritten["rps"] else None
    )
    print()
    print(f"{'contender':12} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, r in (("gateway", gateway), ("handwritten", handwritten)):
        print(
            f"{name:12} {r['rps']:8} {r['p50_ms']!s:>8} {r['p99_ms']!s:>8} {r['errors']:7}"
        )
    print(f"ratio (gateway / handwritten): {ratio}   goal >= 0.8")
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
    print(f"gateway p99: {gateway['p99_ms']} ms   goal < 300 ms, zero errors")
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
        "gateway_cpu_ms_per_query": gateway["cpu_ms_per_request"],
        "handwritten_cpu_ms_per_request": handwritten["cpu_ms_per_request"],
        "services_cpu_ms_per_gateway_query": gateway["services_cpu_ms_per_request"],
        "services_cpu_ms_per_handwritten_request": handwritten[
            "services_cpu_ms_per_request"
        ],
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
