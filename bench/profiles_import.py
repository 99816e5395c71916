"""HRIS bulk import at scale: 100,000 people from a CSV file through ``POST /imports``.

Run from the repository root::

    python -m bench.profiles_import                   # 100,000 people
    python -m bench.profiles_import --people 20000    # a quicker run

The profiles service runs as its own process (``uvicorn --factory
services.profiles.main:build_app``, as a deployment runs it) on a fresh database of a
real, durable PostgreSQL server (started as the tests start theirs, or
``$DATABASE_URL``'s), with the embedded in-process bus instead of Kafka: the relay
still reads every appended event and publishes it, to the process's memory (which
keeps every message, so it counts in the peak RSS). The benchmark writes the
organisation to a CSV file and uploads it over HTTP as an integration does
(``Content-Type: text/csv``, the body streamed from the file), then polls the job to
its end. Then:

* the same file again (every record unchanged: nothing is appended), and
* the peer, first and in another organisation of the same service: people
  registered one ``POST /people`` at a time, as an integration without a bulk
  endpoint would, reported side by side as a ratio.

``peak_rss_mib`` is the service process's high-water resident set (``VmHWM``) after
both imports: the goal is under 1 GiB for 100,000 people (the file is spooled to disk
and applied a chunk at a time, one transaction per chunk).

The synthetic organisation is deterministic (fixed seed): 20 business units, several
countries, levels 1-12 as a pyramid, every person but the top ones with a manager, and
the file shuffled so reports often come before their managers. The last line printed
is one JSON object with the results.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import random
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from bench._infra import CpuMeter, durability, fresh_database, postgres_server
from chassis.auth.tokens import mint_token
from chassis.settings import DEFAULT_DEV_SECRET

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


def bearer(tenant: str = "acme") -> dict[str, str]:
    jwt = mint_token(
        DEFAULT_DEV_SECRET,
        "hris-bench",
        tenant,
        ["integration"],
        "tandem-dev",
        "tandem",
    )
    return {"Authorization": f"Bearer {jwt}"}


CSV_COLUMNS = (
    "employee_id", "given_name", "family_name", "email", "level", "business_unit",
    "function", "geography", "time_zone", "title", "manager_employee_id",
    "hire_date", "languages", "roles",
)  # fmt: skip


def write_csv(people: list[dict[str, Any]], path: Path) -> int:
    """The organisation as an HRIS exports it (lists ``;``-separated); its bytes."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for person in people:
            writer.writerow(
                [
                    ";".join(v) if isinstance(v, list) else "" if v is None else v
                    for v in (person[c] for c in CSV_COLUMNS)
                ]
            )
    return path.stat().st_size


async def file_chunks(path: Path, size: int = 256 * 1024) -> AsyncIterator[bytes]:
    """The file as the upload's body, a chunk at a time (never whole in memory)."""
    with path.open("rb") as f:
        while chunk := f.read(size):
            yield chunk


async def import_job(
    client: httpx.AsyncClient, path: Path, headers: dict[str, str]
) -> tuple[dict[str, Any], float]:
    """Upload the CSV file as one import job and poll it to the end; (report, s)."""
    started = time.perf_counter()
    resp = await client.post(
        "/imports",
        content=file_chunks(path),
        headers={**headers, "Content-Type": "text/csv"},
    )
    if resp.status_code != 202:
        raise SystemExit(f"POST /imports answered {resp.status_code}: {resp.text}")
    print(
        f"  uploaded, read through and accepted (202) after "
        f"{time.perf_counter() - started:.1f}s",
        flush=True,
    )
    location = resp.headers["Location"]
    last_print = time.perf_counter()
    # Polled often at first (a small import ends in well under a second), then four
    # times a second: each poll is a request the service spends CPU time on.
    pause = 0.05
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
        await asyncio.sleep(pause)
        pause = min(pause * 1.5, 0.25)


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mib(pid: int) -> float:
    """A process's high-water resident set (Linux ``VmHWM``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc (Linux only)")


# ``--profile FILE``: uvicorn under cProfile from its start, timed in CPU time (robust
# on a busy machine). The bench marks windows: SIGUSR1 takes a snapshot of the stats so
# far, SIGUSR2 writes what was spent since it to the next file named after it (the
# import with the relay's drain, then the re-import). The profiler stays enabled
# throughout (enabling it later misses the code run in greenlets); the snapshots are
# taken by the event loop, not inside the signal handler. uvicorn re-raises the
# SIGTERM it handled; a handler that ignores it lets the process end normally.
_PROFILED = """
import asyncio, cProfile, marshal, signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: None)
from uvicorn.main import main
files = sys.argv[1].split(",")
profiler = cProfile.Profile(time.process_time)
marks = []
def snapshot():
    profiler.snapshot_stats()
    return dict(profiler.stats)
def minus(a, b):
    return tuple(x - y for x, y in zip(a, b))
def start():
    marks.append(snapshot())
def stop():
    before, now, out = marks.pop(), snapshot(), {}
    for func, (cc, nc, tt, ct, callers) in now.items():
        b = before.get(func, (0, 0, 0.0, 0.0, {}))
        if nc - b[1] <= 0:
            continue
        calls = {
            c: minus(v, b[4].get(c, (0,) * len(v))) for c, v in callers.items()
        }
        out[func] = (cc - b[0], nc - b[1], tt - b[2], ct - b[3], calls)
    with open(files.pop(0) if files else sys.argv[1] + ".more", "wb") as f:
        marshal.dump(out, f)
def later(what):
    return lambda *_: asyncio.get_running_loop().call_soon_threadsafe(what)
signal.signal(signal.SIGUSR1, later(start))
signal.signal(signal.SIGUSR2, later(stop))
try:
    profiler.runcall(main, sys.argv[2:])
except SystemExit:
    pass
"""


def profile_files(profile: str) -> tuple[str, str]:
    """The stats files of ``--profile FILE``: the import (with the relay's drain),
    then the re-import (``FILE`` with ``.reimport`` before its suffix)."""
    path = Path(profile)
    return str(path), str(path.with_suffix(".reimport" + (path.suffix or ".prof")))


async def _profiling(
    process: asyncio.subprocess.Process, on: bool, enabled: bool
) -> None:
    """Start or end a window of ``--profile`` (the snapshot's own CPU left out)."""
    if enabled:
        process.send_signal(signal.SIGUSR1 if on else signal.SIGUSR2)
        await asyncio.sleep(2)


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user + system), in seconds (Linux)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def settle(pid: int, limit_s: float = 300) -> tuple[float, float]:
    """Wait until the process is idle (under 5% of a core over half a second: the
    relay has published what the import appended); (seconds waited, CPU seconds)."""
    started, cpu = time.perf_counter(), cpu_seconds(pid)
    while time.perf_counter() - started < limit_s:
        before = cpu_seconds(pid)
        await asyncio.sleep(0.5)
        if cpu_seconds(pid) - before < 0.025:
            break
    return time.perf_counter() - started, cpu_seconds(pid) - cpu


def _uvicorn(port: int, profile: str | None = None) -> list[str]:
    files = ",".join(profile_files(profile)) if profile else ""
    start = ("-c", _PROFILED, files) if profile else ("-m", "uvicorn")
    return [
        *(sys.executable, *start, "--factory"),
        "services.profiles.main:build_app",
        *("--host", "127.0.0.1", "--port", str(port)),
        *("--log-level", "warning", "--no-access-log"),
    ]


@contextlib.asynccontextmanager
async def service(
    server: Any, prefix: str, profile: str | None = None
) -> AsyncIterator[tuple[httpx.AsyncClient, asyncio.subprocess.Process]]:
    """The profiles service as its own process on a fresh database; a client."""
    async with fresh_database(server, prefix) as url:
        port = _free_port()
        env = {
            **os.environ,
            "ENVIRONMENT": "test",
            # the collector settled as a deployed process has it (chassis.heap)
            "GC_TUNING": "true",
            "DATABASE_URL": url,
            "LOG_LEVEL": "WARNING",
        }
        env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
        process = await asyncio.create_subprocess_exec(
            *_uvicorn(port, profile), env=env
        )
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", timeout=300
            ) as client:
                deadline = time.monotonic() + 300
                while True:
                    if process.returncode is not None:
                        raise SystemExit("the profiles service did not start")
                    with contextlib.suppress(httpx.TransportError):
                        if (await client.get("/readyz")).status_code == 200:
                            break
                    if time.monotonic() > deadline:
                        raise SystemExit("the profiles service was not ready in 300 s")
                    await asyncio.sleep(0.2)
                yield client, process
        finally:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


def load() -> str:
    return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


async def main(args: argparse.Namespace) -> None:
    people = organisation(args.people)
    peer_people = organisation(args.peer, seed=SEED + 1)
    headers = bearer()
    peer_headers = bearer("acme-peer")
    with tempfile.TemporaryDirectory() as tmp, postgres_server(durable=True) as server:
        path = Path(tmp) / "workday.csv"
        size = write_csv(people, path)
        del people
        print(f"CSV file: {args.people} people, {size / 2**20:.1f} MiB")
        async with fresh_database(server, "bench_probe") as url:
            durable = await durability(url)
        print(f"PostgreSQL durability: {durable}")
        print("Bus: embedded in-process bus (no Kafka): the relay publishes to memory")
        meter = CpuMeter(server)  # PostgreSQL's processes (a private server only)
        async with service(server, "bench_import", args.profile) as (client, process):
            print(f"Peer: {len(peer_people)} people, one POST /people each ...")
            peer_s = await one_by_one(client, peer_people, peer_headers)
            await settle(process.pid)
            print(f"Importing {args.people} people from the CSV file ({load()}) ...")
            profiled = args.profile is not None
            await _profiling(process, True, profiled)
            cpu, pg = cpu_seconds(process.pid), meter.snapshot()
            report, seconds = await import_job(client, path, headers)
            import_cpu = cpu_seconds(process.pid) - cpu
            drained_s, drain_cpu = await settle(process.pid)
            import_pg = meter.since(pg)[1]
            await _profiling(process, False, profiled)
            print(
                f"  the relay published the rest in {drained_s:.1f}s more "
                f"({drain_cpu:.1f} CPU s)"
            )
            print(f"Re-importing the same file ({load()}) ...", flush=True)
            await _profiling(process, True, profiled)
            cpu, pg = cpu_seconds(process.pid), meter.snapshot()
            again, again_s = await import_job(client, path, headers)
            again_cpu = cpu_seconds(process.pid) - cpu
            again_pg = meter.since(pg)[1]
            await _profiling(process, False, profiled)
            rss = peak_rss_mib(process.pid)
        after = load()

    counts = report["counts"]
    errors = counts["failed"] + (report["status"] != "succeeded")
    rate = args.people / seconds
    again_rate = args.people / again_s
    peer_rate = len(peer_people) / peer_s
    print()
    print(f"import      {args.people:>6} people  {seconds:7.2f}s  {rate:8.0f} people/s")
    print(f"  status {report['status']}, counts {counts}")
    for error in report["errors"][:5]:
        print(f"  row {error['row']} {error['employee_id']}: {error['message']}")
    print(
        f"re-import   {args.people:>6} people  {again_s:7.2f}s  {again_rate:8.0f} "
        f"people/s  (counts {again['counts']})"
    )
    print(
        f"peer        {len(peer_people):>6} people  {peer_s:7.2f}s  {peer_rate:8.0f} "
        "people/s  (POST /people one at a time)"
    )
    print(f"import / peer: {rate / peer_rate:.2f}x")
    # The service process's CPU time: what the rates would be with a core of its own.
    create_cpu = import_cpu + drain_cpu
    print(
        f"service CPU: import {import_cpu:.1f}s + relay after it {drain_cpu:.1f}s "
        f"= {create_cpu / args.people * 1e6:.0f} us/person "
        f"({args.people / create_cpu:.0f} people per CPU-s); re-import "
        f"{again_cpu:.1f}s = {again_cpu / args.people * 1e6:.0f} us/person "
        f"({args.people / again_cpu:.0f} people per CPU-s)"
    )
    # The machine's bound for this work: its cores over the CPU one person costs the
    # service and PostgreSQL together (neither waiting on the other, nothing else).
    cores = os.cpu_count() or 1
    bound = again_bound = None
    if import_pg is not None and again_pg is not None:
        bound = cores * args.people / (create_cpu + import_pg)
        again_bound = cores * args.people / (again_cpu + again_pg)
        print(
            f"PostgreSQL CPU: import {import_pg:.1f}s = "
            f"{import_pg / args.people * 1e6:.0f} us/person, re-import "
            f"{again_pg:.1f}s = {again_pg / args.people * 1e6:.0f} us/person; the "
            f"{cores} cores' bound (service + PostgreSQL CPU): import "
            f"{bound:.0f} people/s (achieved {rate / bound:.2f} of it), re-import "
            f"{again_bound:.0f} people/s ({again_rate / again_bound:.2f}); one "
            f"process's bound (its CPU alone): import {args.people / create_cpu:.0f}, "
            f"re-import {args.people / again_cpu:.0f} people/s"
        )
    print(f"peak RSS of the service process: {rss:.0f} MiB")
    print(f"machine at the end: {after} ({os.cpu_count()} CPUs)")
    print(
        json.dumps(
            {
                "benchmark": "profiles_import",
                "people": args.people,
                "source": "CSV file, text/csv upload",
                "seconds": round(seconds, 3),
                "people_per_s": round(rate, 1),
                "errors": errors,
                "status": report["status"],
                "counts": counts,
                "reimport_seconds": round(again_s, 3),
                "reimport_people_per_s": round(again_rate, 1),
                "reimport_unchanged": again["counts"]["unchanged"],
                "import_cpu_s": round(import_cpu, 2),
                "relay_drain_s": round(drained_s, 2),
                "relay_drain_cpu_s": round(drain_cpu, 2),
                "people_per_cpu_s": round(args.people / create_cpu, 1),
                "reimport_cpu_s": round(again_cpu, 2),
                "reimport_people_per_cpu_s": round(args.people / again_cpu, 1),
                "import_server_cpu_s": None
                if import_pg is None
                else round(import_pg, 2),
                "reimport_server_cpu_s": None
                if again_pg is None
                else round(again_pg, 2),
                "cpu_bound_people_per_s": None if bound is None else round(bound, 1),
                "reimport_cpu_bound_people_per_s": None
                if again_bound is None
                else round(again_bound, 1),
                "peak_rss_mib": round(rss, 1),
                "peer": "POST /people one at a time",
                "peer_people": len(peer_people),
                "peer_people_per_s": round(peer_rate, 1),
                "ratio_vs_peer": round(rate / peer_rate, 2),
                "bus": "in-process",
                "processes": "separate",
                "durable": durable.durable,
                "load_average": [round(v, 2) for v in os.getloadavg()],
            }
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--peer", type=int, default=500, help="people for the peer")
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="run the service under cProfile (CPU time) and write the stats of the "
        "import (with the relay's drain) to FILE, of the re-import to "
        "FILE.reimport.prof",
    )
    asyncio.run(main(parser.parse_args()))
