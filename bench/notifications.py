"""Notifications: deliveries per second and event-to-delivery latency.

    python -m bench.notifications [--rate 200] [--seconds 20]

Starts the notifications service on PostgreSQL (``$DATABASE_URL``'s server or a
private one) and Kafka (``$KAFKA_BOOTSTRAP_SERVERS`` or a private broker), registers
one webhook endpoint on a loopback receiver (plain HTTP, allowed for this run only),
then offers ``PairingProposed`` events to ``tandem.matching.v1`` at ``--rate`` per
second for ``--seconds``. Each event is also two in-app notifications (mentor and
mentee) in the service's inbox. The receiver (a process of its own, as an
integrator's server would be) records when each signed webhook arrives; latency is
from just before the event was handed to Kafka to its arrival. The service's
webhook dispatcher is woken by each committed batch; its email/chat outbox polls
every 50 ms here (``NOTIFICATIONS_POLL_S=0.05``; the default is 1 s). Goal: p99 < 1 s
at 200 events/s (printed, not asserted). The last line is JSON with
``deliveries_per_s`` and ``p99_ms``; also the latency to the consumer's commit and
this process's CPU per event (``--profile FILE`` writes its cProfile stats).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import multiprocessing
import os
import pstats
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import text

from bench._infra import CpuMeter, fresh_database, postgres_server
from bench.projection import kafka_broker
from chassis.auth import mint_token
from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.messaging import OutboundMessage
from chassis.messaging.kafka import KafkaTransport
from chassis.settings import DEFAULT_DEV_SECRET
from services.notifications.main import build_app
from services.notifications.settings import Settings

GOAL_P99_MS = 1000.0


@asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port; yield its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="auto" if isinstance(app, FastAPI) else "off",
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)


def _event(tenant: str, pairing: str) -> OutboundMessage:
    data = {
        "pairing_id": pairing,
        "mentor_id": f"mentor-{pairing}",
        "mentee_id": f"mentee-{pairing}",
        "score": 0.8,
        "expires_at": (datetime.now(UTC) + timedelta(days=14)).isoformat(),
    }
    return OutboundMessage.of(
        "tandem.matching.v1",
        Envelope(
            id=str(uuid.uuid4()),
            source="tandem/matching",
            type="PairingProposed",
            subject=pairing,
            time=utcnow(),
            data=data,
            tenant=tenant,
        ),
    )


def _receiver(arrivals: dict[str, float]) -> Any:
    """The integrator's endpoint: a bare ASGI app (no framework). ``POST /hook``
    records when each pairing's webhook first came; ``GET /arrivals`` lists them."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        status, answer = 404, b""
        if scope["path"] == "/hook" and scope["method"] == "POST":
            pairing = str(json.loads(body)["data"]["pairing_id"])
            arrivals.setdefault(pairing, time.time())
            status = 204
        elif scope["path"] == "/arrivals":
            status, answer = 200, json.dumps(arrivals).encode()
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": answer})

    return app


def _receive_forever(port: Connection) -> None:
    """The receiver's own process (the integrator's server is not the service's:
    it neither shares its event loop nor counts in its CPU)."""

    async def main() -> None:
        async with served(_receiver({})) as url:
            port.send(url)
            await asyncio.Event().wait()

    asyncio.run(main())


@contextlib.contextmanager
def receiver_process() -> Iterator[str]:
    """Start the receiver in a process of its own; yield its base URL."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_receive_forever, args=(theirs,), daemon=True)
    process.start()
    try:
        if not ours.poll(60):
            raise RuntimeError("the webhook receiver did not start")
        yield str(ours.recv())
    finally:
        process.terminate()
        process.join(10)


async def _arrivals(client: httpx.AsyncClient, receiver: str) -> dict[str, float]:
    got = (await client.get(f"{receiver}/arrivals")).json()
    return {str(k): float(v) for k, v in got.items()}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(
    rate: int, seconds: float, profile: str | None = None
) -> dict[str, float]:
    load = [round(x, 2) for x in os.getloadavg()]
    print(f"Load average (1, 5, 15 min) before: {load}", flush=True)
    arrivals: dict[str, float] = {}
    check = httpx.AsyncClient(timeout=30)
    sent: dict[str, float] = {}
    tenant = f"bench-{uuid.uuid4().hex[:8]}"
    with (
        postgres_server(durable=True) as server,
        kafka_broker() as bootstrap,
        receiver_process() as receiver,
    ):
        async with fresh_database(server, "bench_notifications") as url:
            app = build_app(
                Settings(
                    environment="test",
                    database_url=url,
                    kafka_bootstrap_servers=bootstrap,
                    NOTIFICATIONS_POLL_S=0.05,
                    NOTIFICATIONS_WEBHOOK_ALLOW_HTTP=True,
                )
            )
            async with served(app) as service:
                admin = mint_token(
                    DEFAULT_DEV_SECRET,
                    "admin",
                    tenant,
                    ["admin"],
                    "tandem-dev",
                    "tandem",
                )
                async with httpx.AsyncClient(timeout=30) as client:
                    made = await client.post(
                        f"{service}/webhooks/endpoints",
                        json={"url": f"{receiver}/hook", "event_types": []},
                        headers={"authorization": f"Bearer {admin}"},
                    )
                    made.raise_for_status()
                transport = KafkaTransport(bootstrap)
                try:
                    await transport.ensure_topics(["tandem.matching.v1"])
                    await asyncio.sleep(3)  # the consumer joins its group
                    print(
                        f"offering {rate} events/s for {seconds:.0f} s ...", flush=True
                    )
                    meter = CpuMeter(server)
                    before = meter.snapshot()
                    profiler = cProfile.Profile() if profile else None
                    if profiler is not None:
                        profiler.enable()
                    tick = 0.1
                    per_tick = max(1, round(rate * tick))
                    start = time.monotonic()
                    n = 0
                    while time.monotonic() - start < seconds:
                        batch = []
                        for _ in range(per_tick):
                            pid = f"bp{n}"
                            n += 1
                            sent[pid] = time.time()
                            batch.append(_event(tenant, pid))
                        await transport.publish(batch)
                        next_at = start + (n / per_tick) * tick
                        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                    offered_s = time.monotonic() - start
                    deadline = time.monotonic() + 60
                    while len(arrivals) < len(sent) and time.monotonic() < deadline:
                        await asyncio.sleep(0.5)
                        arrivals = await _arrivals(check, receiver)
                    if profiler is not None:
                        profiler.disable()
                        pstats.Stats(profiler).dump_stats(profile or "")
                    cpu, server_cpu = meter.since(before)
                    # When the consumer kept each event (its inbox rows' moment).
                    async with app.state.runtime.engine.connect() as conn:
                        kept = {
                            r.subject_id: datetime.fromisoformat(r.at).timestamp()
                            for r in await conn.execute(
                                text(
                                    "SELECT subject_id, min(created_at) AS at "
                                    "FROM notifications WHERE tenant = :t "
                                    "GROUP BY subject_id"
                                ),
                                {"t": tenant},
                            )
                        }
                        failed = (
                            await conn.execute(
                                text(
                                    "SELECT error, count(*) AS n FROM webhook_attempts "
                                    "WHERE error IS NOT NULL GROUP BY error "
                                    "ORDER BY n DESC LIMIT 3"
                                )
                            )
                        ).all()
                finally:
                    await transport.stop()
    await check.aclose()
    got = {k: v for k, v in arrivals.items() if k in sent}
    latencies = [(got[k] - sent[k]) * 1000 for k in got]
    first, last = min(sent.values()), max(got.values(), default=time.time())
    applied = [(kept[k] - sent[k]) * 1000 for k in sent if k in kept]
    result = {
        "events": float(len(sent)),
        "offered_per_s": round(len(sent) / offered_s, 1),
        "delivered": float(len(got)),
        "deliveries_per_s": round(len(got) / max(last - first, 1e-9), 1),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else -1.0,
        "p99_ms": round(_pct(latencies, 0.99), 1) if latencies else -1.0,
        "max_ms": round(max(latencies), 1) if latencies else -1.0,
        "applied_p50_ms": round(statistics.median(applied), 1) if applied else -1.0,
        "applied_p99_ms": round(_pct(applied, 0.99), 1) if applied else -1.0,
        "cpu_ms_per_event": round(cpu * 1000 / max(len(got), 1), 2),
        "server_cpu_ms_per_event": round((server_cpu or 0) * 1000 / max(len(got), 1), 2)
        if server_cpu is not None
        else -1.0,
    }
    load = [round(x, 2) for x in os.getloadavg()]
    print(f"Load average (1, 5, 15 min) after: {load}")
    print(
        f"offered {result['events']:.0f} events at {result['offered_per_s']}/s; "
        f"delivered {result['delivered']:.0f} webhooks, "
        f"{result['deliveries_per_s']} deliveries/s"
    )
    print(
        f"event -> delivery: p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
        f"max {result['max_ms']} ms (goal p99 < {GOAL_P99_MS:.0f} ms: "
        f"{'met' if 0 <= result['p99_ms'] < GOAL_P99_MS else 'NOT met'})"
    )
    print(
        f"event -> kept by the consumer: p50 {result['applied_p50_ms']} ms, "
        f"p99 {result['applied_p99_ms']} ms"
    )
    for error, count in failed:
        print(f"failed webhook attempts (retried): {count} x {error[:120]}")
    print(
        f"CPU per delivered event: {result['cpu_ms_per_event']} ms in this process "
        "(the service and the load; the receiver runs apart), "
        f"{result['server_cpu_ms_per_event']} ms in PostgreSQL"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--profile", help="write this process's cProfile stats to this file"
    )
    args = parser.parse_args()
    result = asyncio.run(run(args.rate, args.seconds, args.profile))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
