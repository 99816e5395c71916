"""HRIS bulk import throughput: 10,000 people through ``POST /imports``.

Run from the repository root::

    python -m bench.profiles_import                 # 10,000 people
    python -m bench.profiles_import --people 2000   # a quicker run

The profiles service is built by its own composition root (``build_app``) on a fresh
database of a real PostgreSQL server (started as the tests start theirs, or
``$DATABASE_URL``'s) with the EMBEDDED in-process bus instead of Kafka: the relay still
reads every appended event and publishes it, but to memory. It is driven over HTTP in
process (``httpx.ASGITransport``), the way an integration drives it: one import job,
polled until it finishes. Then:

* the same batch again (every record unchanged: nothing is appended), and
* the peer, first and on its own fresh database: the same kind of people registered
  one ``POST /people`` at a time, as an integration without a bulk endpoint would,
  reported side by side as a ratio.

The synthetic organisation is deterministic (fixed seed): 20 business units, several
countries, levels 1-12 as a pyramid, every person but the top ones with a manager, and
the file shuffled so reports often come before their managers. The last line printed
is one JSON object with the results.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from bench._infra import durability, fresh_database, postgres_server
from chassis.auth.tokens import mint_token
from chassis.settings import DEFAULT_DEV_SECRET
from services.profiles.main import Settings, build_app

SEED = 20240601
BUSINESS_UNITS = [f"BU-{n:02d}" for n in range(1, 21)]
FUNCTIONS = ["Finance", "Engineering", "Sales", "Operations", "People", "Legal"]
COUNTRIES = [
    ("GB", "Europe/London", "en"),
    ("US", "America/New_York", "en"),
    ("DE", "Europe/Berlin", "de"),
    ("FR", "Europe/Paris", "fr"),
    ("IN", "Asia/Kolkata", "hi"),
    ("SG", "Asia/Singapore", "zh"),
    ("BR", "America/Sao_Paulo", "pt"),
    ("JP", "Asia/Tokyo", "ja"),
]
GIVEN = ["Ada", "Grace", "Alan", "Katherine", "Edsger", "Barbara", "Linus", "Radia"]
FAMILY = ["Lovelace", "Hopper", "Turing", "Johnson", "Dijkstra", "Liskov", "Perlman"]


def organisation(size: int, seed: int = SEED) -> list[dict[str, Any]]:
    """``size`` people; each manager one level or more above their reports."""
    rng = random.Random(seed)
    people: list[dict[str, Any]] = []
    by_unit_level: dict[tuple[str, int], list[str]] = {}
    # A pyramid: many at levels 1-4, few at 10-12.
    weights = [13 - level for level in range(1, 13)]
    levels = sorted(rng.choices(range(1, 13), weights, k=size), reverse=True)
    for n, level in enumerate(levels, start=1):
        unit = BUSINESS_UNITS[n % len(BUSINESS_UNITS)]
        country, zone, language = rng.choice(COUNTRIES)
        employee_id = f"W{n:06d}"
        managers = [
            m
            for above in range(level + 1, min(level + 3, 12) + 1)
            for m in by_unit_level.get((unit, above), [])
        ]
        people.append(
            {
                "employee_id": employee_id,
                "given_name": rng.choice(GIVEN),
                "family_name": rng.choice(FAMILY),
                "email": f"{employee_id.lower()}@acme.example",
                "level": level,
                "business_unit": unit,
                "function": rng.choice(FUNCTIONS),
                "geography": country,
                "time_zone": zone,
                "title": f"Level {level} {rng.choice(FUNCTIONS)}",
                "manager_employee_id": rng.choice(managers[-50:]) if managers else None,
                "hire_date": f"{rng.randint(1995, 2023)}-{rng.randint(1, 12):02d}-01",
                "languages": sorted({language, "en"}),
                "roles": rng.choice([["mentee"], ["mentor"], [], ["mentee"]]),
            }
        )
        by_unit_level.setdefault((unit, level), []).append(employee_id)
    rng.shuffle(people)  # managers are not first: the import must not care
    return people


def bearer() -> dict[str, str]:
    jwt = mint_token(
        DEFAULT_DEV_SECRET,
        "hris-bench",
        "acme",
        ["integration"],
        "tandem-dev",
        "tandem",
    )
    return {"Authorization": f"Bearer {jwt}"}


async def import_job(
    client: httpx.AsyncClient, people: list[dict[str, Any]], headers: dict[str, str]
) -> tuple[dict[str, Any], float]:
    """Start one import job and poll it to the end; (report, seconds)."""
    started = time.perf_counter()
    resp = await client.post("/imports", json={"people": people}, headers=headers)
    if resp.status_code != 202:
        raise SystemExit(f"POST /imports answered {resp.status_code}: {resp.text}")
    location = resp.headers["Location"]
    last_print = 0.0
    while True:
        report = (await client.get(location, headers=headers)).json()
        now = time.perf_counter()
        if report["status"] in ("succeeded", "failed"):
            return report, now - started
        if now - last_print >= 5:
            progress = report["progress"]
            print(
                f"  ... {progress['processed']}/{progress['total']} "
                f"after {now - started:.1f}s",
                flush=True,
            )
            last_print = now
        await asyncio.sleep(0.2)


async def one_by_one(
    client: httpx.AsyncClient, people: list[dict[str, Any]], headers: dict[str, str]
) -> float:
    """The peer: ``POST /people`` per person, sequentially; seconds taken."""
    started = time.perf_counter()
    for record in people:
        body = {k: v for k, v in record.items() if k != "manager_employee_id"}
        resp = await client.post("/people", json=body, headers=headers)
        if resp.status_code != 201:
            raise SystemExit(f"POST /people answered {resp.status_code}: {resp.text}")
    return time.perf_counter() - started


@contextlib.asynccontextmanager
async def service(server: Any, prefix: str) -> AsyncIterator[httpx.AsyncClient]:
    """The profiles app on a fresh database, with an HTTP client bound to it."""
    async with fresh_database(server, prefix) as url:
        app = build_app(
            Settings(environment="test", database_url=url, kafka_bootstrap_servers=None)
        )
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=transport, base_url="http://profiles", timeout=120
            ) as client,
        ):
            yield client


async def main(args: argparse.Namespace) -> None:
    people = organisation(args.people)
    peer_people = organisation(args.peer, seed=SEED + 1)
    headers = bearer()
    with postgres_server(durable=True) as server:
        async with fresh_database(server, "bench_probe") as url:
            durable = await durability(url)
        print(f"PostgreSQL durability: {durable}")
        print("Bus: embedded in-process bus (no Kafka): the relay publishes to memory")
        async with service(server, "bench_import_peer") as client:
            print(f"Peer: {len(peer_people)} people, one POST /people each ...")
            peer_s = await one_by_one(client, peer_people, headers)
        async with service(server, "bench_import") as client:
            print(f"Importing {len(people)} people as one job ...", flush=True)
            report, seconds = await import_job(client, people, headers)
            print(f"Re-importing the same {len(people)} people ...", flush=True)
            again, again_s = await import_job(client, people, headers)

    counts = report["counts"]
    errors = counts["failed"] + (report["status"] != "succeeded")
    rate = len(people) / seconds
    again_rate = len(people) / again_s
    peer_rate = len(peer_people) / peer_s
    print()
    print(f"import      {len(people):>6} people  {seconds:7.2f}s  {rate:8.0f} people/s")
    print(f"  status {report['status']}, counts {counts}")
    for error in report["errors"][:5]:
        print(f"  row {error['row']} {error['employee_id']}: {error['message']}")
    print(
        f"re-import   {len(people):>6} people  {again_s:7.2f}s  {again_rate:8.0f} "
        f"people/s  (counts {again['counts']})"
    )
    print(
        f"peer        {len(peer_people):>6} people  {peer_s:7.2f}s  {peer_rate:8.0f} "
        "people/s  (POST /people one at a time)"
    )
    print(f"import / peer: {rate / peer_rate:.2f}x")
    print(
        json.dumps(
            {
                "benchmark": "profiles_import",
                "people": len(people),
                "seconds": round(seconds, 3),
                "people_per_s": round(rate, 1),
                "errors": errors,
                "status": report["status"],
                "counts": counts,
                "reimport_seconds": round(again_s, 3),
                "reimport_people_per_s": round(again_rate, 1),
                "reimport_unchanged": again["counts"]["unchanged"],
                "peer": "POST /people one at a time",
                "peer_people": len(peer_people),
                "peer_people_per_s": round(peer_rate, 1),
                "ratio_vs_peer": round(rate / peer_rate, 2),
                "bus": "in-process",
                "durable": durable.durable,
            }
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--peer", type=int, default=1_000, help="people for the peer")
    asyncio.run(main(parser.parse_args()))
