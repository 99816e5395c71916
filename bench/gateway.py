"""Gateway benchmark: a portal's mentee dashboard through GraphQL vs hand-written.

    python -m bench.gateway                      # about 1 to 2 minutes on 2 cores
    python -m bench.gateway --clients 50 --seconds 10

Every service runs under uvicorn on real PostgreSQL and the real Kafka broker, with
the gateway in front, exactly as `tests/gateway` runs them. One mentee is taken
through the whole journey via GraphQL (HRIS import, round, approval, acceptance,
contract, 50 sessions held, 50 milestones, one achieved). Then 50 concurrent clients
ask for the mentee's dashboard (profile, current relationship with its mentor, the
sessions, the milestones, the scorecard):

* **gateway**: one GraphQL query (`DASHBOARD` below) per request;
* **handwritten**: a FastAPI endpoint written for exactly this page, calling the
  same services directly with the same pooled HTTP clients and running independent
  calls concurrently: the no-GraphQL limit.

It prints requests/s and latency p50/p99 for both, the ratio, and the upstream calls
one dashboard query makes at list lengths 1 and 50 (from the response's
`extensions.upstreamCalls`). Last line: JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import time
from collections.abc import Iterator
from typing import Any

import httpx
from fastapi import FastAPI, Request

from bench._infra import postgres_server
from chassis.auth import Role
from tests.gateway import journey
from tests.gateway.journey import local
from tests.gateway.platform import new_tenant, running_platform, served, token

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
    """The same page, hand-written against the services' HTTP APIs."""
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    clients = {
        name: httpx.AsyncClient(base_url=url, limits=limits, timeout=30)
        for name, url in urls.items()
    }
    app = FastAPI()

    @app.get("/dashboard")
    async def dashboard(request: Request, n: int = 50) -> dict[str, Any]:
        headers = {"authorization": request.headers["authorization"]}
        me = request.query_params["me"]

        async def get(service: str, path: str, **kw: Any) -> Any:
            r = await clients[service].get(path, headers=headers, **kw)
            r.raise_for_status()
            return r.json()

        async def post(service: str, path: str, body: Any) -> Any:
            r = await clients[service].post(path, headers=headers, json=body)
            r.raise_for_status()
            return r.json()

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
        return {"me": person, "relationship": current, "scorecard": card}

    app.state.clients = clients
    return app


async def load(
    call, clients: int, seconds: float, warmup_s: float = 2.0
) -> dict[str, Any]:
    """``clients`` loops calling ``call()`` for ``seconds``; rate and latency."""
    latencies: list[float] = []
    errors = 0
    stop_at = time.monotonic() + warmup_s + seconds
    measure_from = time.monotonic() + warmup_s

    async def client() -> None:
        nonlocal errors
        while time.monotonic() < stop_at:
            t0 = time.monotonic()
            try:
                await call()
            except Exception:
                errors += 1
                continue
            if t0 >= measure_from:
                latencies.append(time.monotonic() - t0)

    await asyncio.gather(*(client() for _ in range(clients)))
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / seconds, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "errors": errors,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    with postgres_server(durable=True) as pg, kafka_broker() as kafka:
        async with running_platform(pg, kafka) as p:
            tenant = new_tenant()
            admin = token("admin-1", tenant, Role.ADMIN, Role.COORDINATOR)
            print("seeding one mentee's journey through GraphQL ...", flush=True)
            ids = await journey.import_organisation(p, admin, mentees=1)
            cohort = await journey.enrol(p, admin, ids)
            pair = (await journey.run_round(p, admin, cohort, mentees=1))[0]
            await journey.confirm(p, tenant, admin, pair)
            mentee, mentor = local(pair["mentee"]["id"]), local(pair["mentor"]["id"])
            as_mentee = token(mentee, tenant, Role.MENTEE)
            as_mentor = token(mentor, tenant, Role.MENTOR)
            rel = await journey.relationship_of(p, as_mentee)
            await journey.develop(p, rel, as_mentor, as_mentee, sessions=args.items)
            for k in range(args.items - 1):
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

            gw = f"{p.gateway_url}/graphql"
            auth = {"authorization": f"Bearer {as_mentee}"}
            limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
            async with httpx.AsyncClient(limits=limits, timeout=60) as http:

                async def ask(n: int) -> dict:
                    r = await http.post(
                        gw,
                        json={
                            "query": DASHBOARD,
                            "variables": {"n": n, "mentee": pair["mentee"]["id"]},
                        },
                        headers=auth,
                    )
                    body = r.json()
                    assert r.status_code == 200 and not body.get("errors"), body
                    return body

                calls = {}
                for n in (1, args.items):
                    body = await ask(n)
                    node = body["data"]["relationships"]["edges"][0]["node"]
                    assert len(node["sessions"]["edges"]) == n
                    assert len(node["milestones"]["edges"]) == n
                    calls[n] = body["extensions"]["upstreamCalls"]

                hand = handwritten_app(p.service_urls)
                async with served(hand) as hand_url:

                    async def ask_hand() -> None:
                        r = await http.get(
                            f"{hand_url}/dashboard",
                            params={"me": mentee, "n": args.items},
                            headers=auth,
                        )
                        r.raise_for_status()

                    print(
                        f"gateway: {args.clients} clients, {args.seconds}s", flush=True
                    )
                    gateway = await load(
                        lambda: ask(args.items), args.clients, args.seconds
                    )
                    print(
                        f"handwritten: {args.clients} clients, {args.seconds}s",
                        flush=True,
                    )
                    handwritten = await load(ask_hand, args.clients, args.seconds)
                    for c in hand.state.clients.values():
                        await c.aclose()

    ratio = round(gateway["rps"] / handwritten["rps"], 3)
    print()
    print(f"{'contender':12} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, r in (("gateway", gateway), ("handwritten", handwritten)):
        print(f"{name:12} {r['rps']:8} {r['p50_ms']:8} {r['p99_ms']:8} {r['errors']:7}")
    print(f"ratio (gateway / handwritten): {ratio}   goal >= 0.5")
    print(
        f"upstream calls per dashboard query: list length 1 -> {calls[1]}, "
        f"{args.items} -> {calls[args.items]}"
    )
    result = {
        "benchmark": "gateway",
        "gateway_rps": gateway["rps"],
        "handwritten_rps": handwritten["rps"],
        "ratio": ratio,
        "p50_ms": gateway["p50_ms"],
        "p99_ms": gateway["p99_ms"],
        "handwritten_p50_ms": handwritten["p50_ms"],
        "handwritten_p99_ms": handwritten["p99_ms"],
        "upstream_calls_per_query": {"1": calls[1], str(args.items): calls[args.items]},
        "clients": args.clients,
        "seconds": args.seconds,
        "cpu_cores": os.cpu_count(),
    }
    print(json.dumps(result))
    return result


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--items", type=int, default=50)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
