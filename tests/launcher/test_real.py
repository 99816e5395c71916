"""``python -m launcher.real``: the platform as separate processes, started and stopped.

The runner is started as an operator would, pointed at the session's PostgreSQL and
Kafka (``--database-url``, ``--kafka``). One test (starting six processes is the
expensive part): ready, a mutation and a query through the gateway, a log file per
process, a killed child restarted, and SIGTERM leaving no process behind.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.local import free_port, pid_alive
from launcher.real import ORDER
from tests.support.waiting import until_sync

pytestmark = pytest.mark.kafka
ROOT = Path(__file__).resolve().parents[2]


def _free_block(size: int) -> int:
    """A base port with ``size`` consecutive free ports."""
    import socket

    for _ in range(50):
        base = free_port()
        ok = True
        for port in range(base, base + size):
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no block of free ports")


def _children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {c for c, p in parents.items() if p in frontier} - found
        found |= frontier
    return found


@pytest.fixture
def runner(
    postgres_server, kafka_bootstrap, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Path, Path, int]]:
    base_port = _free_block(len(ORDER))
    output = tmp_path / "runner.out"
    data = tmp_path / "real"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "launcher.real",
                "--database-url",
                postgres_server.admin_url,
                "--kafka",
                kafka_bootstrap,
                "--base-port",
                str(base_port),
                "--database-prefix",
                f"real_{uuid.uuid4().hex[:8]}",
                "--data",
                str(data),
            ],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "OTEL_SDK_DISABLED": "true"},
        )
    try:
        yield process, output, data, base_port
    finally:
        if process.poll() is None:  # the test failed half-way: do not leak
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_real_mode_runs_every_process_and_stops_them_all(runner) -> None:
    process, output, data, base_port = runner

    def text() -> str:
        return output.read_text(errors="replace")

    def exited() -> str | None:
        return None if process.poll() is None else f"it exited ({process.returncode})"

    until_sync(
        lambda: "tandem real: ready" in text(),
        "the ready line",
        240,
        give_up=exited,
        detail=text,
    )
    banner = text()
    gateway = f"http://127.0.0.1:{base_port}"
    assert f"{gateway}/graphql" in banner
    match = re.search(r"development token[^\n]*\n\s+(\S+)", banner)
    assert match, banner
    bearer = {"authorization": f"Bearer {match.group(1)}"}

    # Through the gateway to profiles, its own database, and back.
    with httpx.Client(base_url=gateway, timeout=30) as client:
        registered = client.post(
            "/graphql",
            json={
                "query": """mutation($i: RegisterPersonInput!) {
                  registerPerson(input: $i) {
                    __typename ... on PersonSuccess { person { id } } } }""",
                "variables": {
                    "i": {
                        "details": {
                            "givenName": "Mary",
                            "familyName": "Jackson",
                            "email": "mary@demo.example",
                            "level": 5,
                            "businessUnit": "Research",
                            "function": "Engineering",
                            "geography": "US",
                            "timeZone": "America/New_York",
                            "employeeId": "M1",
                        }
                    }
                },
            },
            headers=bearer,
        ).json()
        assert registered["data"]["registerPerson"]["__typename"] == "PersonSuccess"
        people = client.post(
            "/graphql",
            json={"query": "{ people(first: 10) { edges { node { id } } } }"},
            headers=bearer,
        ).json()
        assert not people.get("errors"), people
        ids = [e["node"]["id"] for e in people["data"]["people"]["edges"]]
        assert registered["data"]["registerPerson"]["person"]["id"] in ids

    # One log file per process, each with that process's own start-up lines; the
    # merged output prefixes every line with the process's name.
    for name in ORDER:
        log = (data / "logs" / f"{name}.log").read_text()
        assert "Application startup complete" in log, (name, log)
        assert re.search(rf"^{name}\s*\| .*Application startup complete", banner, re.M)

    # A child that dies is reported and restarted.
    insights_port = base_port + ORDER.index("insights")
    pid_line = re.search(
        rf"--- insights pid (\d+) on port {insights_port}",
        (data / "logs" / "insights.log").read_text(),
    )
    assert pid_line
    os.kill(int(pid_line.group(1)), signal.SIGKILL)
    until_sync(
        lambda: "insights exited with code -9; restarting" in text(),
        "the restart notice",
        60,
        give_up=exited,
        detail=text,
    )

    def insights_ready() -> bool:
        try:
            url = f"http://127.0.0.1:{insights_port}/readyz"
            return httpx.get(url, timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    until_sync(insights_ready, "insights ready again", 120, give_up=exited)

    # SIGTERM stops every child, then the runner, cleanly.
    children = _children(process.pid)
    assert len(children) >= len(ORDER)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=90) == 0, text()
    assert "tandem real: stopped" in text()
    left = {pid for pid in children if pid_alive(pid)}
    assert not left, f"processes left behind: {left}"
