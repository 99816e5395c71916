"""Real mode on one machine: every service and the gateway as its own process.

    python -m launcher.real [--services profiles,insights,gateway] [--base-port 8100]
                            [--database-url URL] [--kafka HOST:PORT]

Starts PostgreSQL and Kafka with ``deploy.local`` (unless ``--database-url`` /
``--kafka`` name servers that already run), creates one database per service
(``<prefix>_<service>``, kept if it exists), then runs each service and the gateway as
``uvicorn --factory <module>:build_app`` on a fixed port: the gateway on the base port,
profiles, matching, sessions, advisors, insights and notifications on the next six
(whether or not all of them run). Each process logs to ``<data>/logs/<name>.log``; stdout shows the
merged tail, each line prefixed with its process's name.

Once every ``/readyz`` answers 200 it prints the URLs and a development token, then a
line ``tandem real: ready``. A child that dies before that stops the run (exit 1, with
its log tail). A child that dies later is reported and restarted with an exponential
backoff (1 s, doubling up to 30 s; back to 1 s after it has run for a minute).
Ctrl-C or SIGTERM stops every child (SIGTERM to its process group, SIGKILL after
``STOP_GRACE_S``), then the servers this run started; exit code 0. If the runner
itself is killed, a watchdog per child stops it, so no process is left behind.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx

from chassis.auth.tokens import mint_token
from chassis.settings import DEFAULT_DEV_SECRET
from deploy.local import Watchdog, log_tail
from gateway.settings import SERVICES
from launcher.registry import SERVICES as SERVICE_MODULES

GATEWAY = "gateway"
# Port offsets from --base-port: the gateway, the services it calls, then any other
# registered service the gateway does not call.
ORDER = (GATEWAY, *SERVICES, *(s for s in SERVICE_MODULES if s not in SERVICES))
STOP_GRACE_S = 20.0
MAX_BACKOFF_S = 30.0
STABLE_S = 60.0  # a child that ran this long restarts after 1 s again


def _say(message: str) -> None:
    print(f"tandem real: {message}", flush=True)


@dataclass
class Child:
    """One supervised process: a service or the gateway."""

    name: str
    factory: str
    port: int
    env: dict[str, str]
    log_path: Path
    host: str
    process: asyncio.subprocess.Process | None = None
    watchdog: Watchdog | None = None
    started_at: float = 0.0
    restarts: int = 0
    pump: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self, out: TextIO) -> None:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            self.factory,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--log-level",
            "info",
        ]
        self.process = await asyncio.create_subprocess_exec(
            *command,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # our signals reach it only through us
        )
        self.watchdog = Watchdog(self.process.pid, group=True)
        self.started_at = time.monotonic()
        self.pump = asyncio.create_task(self._pump(self.process, out))

    async def _pump(self, process: asyncio.subprocess.Process, out: TextIO) -> None:
        """Copy the child's output to its log file and, prefixed, to ``out``."""
        assert process.stdout is not None
        prefix = f"{self.name:<9}| "
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(f"--- {self.name} pid {process.pid} on port {self.port}\n")
            while line := await process.stdout.readline():
                text = line.decode("utf-8", "replace").rstrip("\n")
                log.write(text + "\n")
                log.flush()
                out.write(prefix + text + "\n")
                out.flush()

    async def wait(self) -> int:
        assert self.process is not None
        code = await self.process.wait()
        if self.pump is not None:
            await self.pump  # the last lines, written before we report the exit
        if self.watchdog is not None:
            self.watchdog.disarm()
            self.watchdog = None
        return code

    def signal(self, sig: int) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, sig)

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after ``STOP_GRACE_S``."""
        if self.process is None:
            return
        self.signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.wait(), STOP_GRACE_S)
        except TimeoutError:
            self.signal(signal.SIGKILL)
            await self.wait()


@dataclass
class Infra:
    postgres: Any  # deploy.local.postgres.PostgresServer (own or wrapping a URL)
    kafka: str
    owned: list[Any]

    @property
    def database_admin_url(self) -> str:
        return str(self.postgres.admin_url)

    def database_url(self, name: str) -> str:
        return str(self.postgres.url_for(name, driver="postgresql+asyncpg"))

    def close(self) -> None:
        for server in reversed(self.owned):
            server.close()


def _start_infra(database_url: str | None, kafka: str | None) -> Infra:
    from deploy.local.postgres import PostgresServer

    owned: list[Any] = []
    if database_url:
        postgres = PostgresServer.from_url(database_url)
    else:
        _say("starting PostgreSQL (deploy.local, throw-away data)")
        postgres = PostgresServer()
        postgres.start()
        owned.append(postgres)
    if not kafka:
        from deploy.local.kafka import KafkaBroker

        _say("starting Kafka (deploy.local, KRaft)")
        broker = KafkaBroker()
        try:
            broker.start()
        except BaseException:
            for server in owned:
                server.close()
            raise
        owned.append(broker)
        kafka = broker.bootstrap_servers
    return Infra(postgres, kafka, owned)


async def ensure_database(admin_url: str, name: str) -> None:
    """Create database ``name`` unless it exists."""
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", name
        )
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def plan(
    names: Sequence[str],
    *,
    host: str,
    base_port: int,
    kafka: str,
    databases: dict[str, str],
    logs: Path,
    environ: dict[str, str],
) -> list[Child]:
    """The children to run, with their ports and environment."""
    common = {
        **environ,
        "PYTHONUNBUFFERED": "1",
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "ENVIRONMENT": environ.get("ENVIRONMENT", "development"),
    }
    port_of = {name: base_port + offset for offset, name in enumerate(ORDER)}
    children = []
    for name in names:
        env = dict(common)
        if name == GATEWAY:
            factory = "gateway.main:build_app"
            for service in SERVICES:
                env[f"{service.upper()}_URL"] = f"http://{host}:{port_of[service]}"
            env.pop("DATABASE_URL", None)
        else:
            factory = f"{SERVICE_MODULES[name]}:build_app"
            env["DATABASE_URL"] = databases[name]
        children.append(
            Child(name, factory, port_of[name], env, logs / f"{name}.log", host)
        )
    return children


async def _ready(client: httpx.AsyncClient, child: Child) -> bool:
    try:
        response = await client.get(f"{child.url}/readyz", timeout=5)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


async def wait_ready(children: list[Child], timeout_s: float) -> Child | None:
    """Wait until every child is ready; the first child that died instead, if any."""
    deadline = time.monotonic() + timeout_s
    pending = list(children)
    async with httpx.AsyncClient() as client:
        while pending:
            for child in list(pending):
                assert child.process is not None
                if child.process.returncode is not None:
                    return child
                if await _ready(client, child):
                    _say(f"{child.name} ready on {child.url}")
                    pending.remove(child)
            if time.monotonic() > deadline:
                names = ", ".join(c.name for c in pending)
                raise TimeoutError(f"not ready after {timeout_s:.0f}s: {names}")
            if pending:
                await asyncio.sleep(0.25)
    return None


def _banner(children: list[Child], token: str) -> None:
    by_name = {c.name: c for c in children}
    if GATEWAY in by_name:
        _say(f"GraphQL (GraphiQL in a browser): {by_name[GATEWAY].url}/graphql")
    for child in children:
        _say(f"{child.name:<9} {child.url}  (logs: {child.log_path})")
    _say(f"development token (tenant 'demo', admin+coordinator, 12 h):\n  {token}")
    _say("ready (Ctrl-C to stop)")


async def supervise(child: Child, stop: asyncio.Event, out: TextIO) -> None:
    """Restart ``child`` with backoff whenever it dies, until ``stop``."""
    backoff = 1.0
    while not stop.is_set():
        waiting = asyncio.ensure_future(child.wait())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not waiting.done():
            stopping.cancel()
            waiting.cancel()
            return
        stopping.cancel()
        code = waiting.result()
        if stop.is_set():
            return
        if time.monotonic() - child.started_at >= STABLE_S:
            backoff = 1.0
        _say(f"{child.name} exited with code {code}; restarting in {backoff:.0f}s")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), backoff)
        if stop.is_set():
            return
        backoff = min(backoff * 2, MAX_BACKOFF_S)
        child.restarts += 1
        await child.start(out)


async def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    names = [n.strip() for n in args.services.split(",") if n.strip()]
    unknown = sorted(set(names) - set(ORDER))
    if unknown or not names:
        _say(f"unknown --services {unknown}; choose from {', '.join(ORDER)}")
        return 2
    names = [n for n in ORDER if n in names]
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,40}", args.database_prefix):
        _say("--database-prefix: letters, digits and underscores (at most 41)")
        return 2
    busy = [
        args.base_port + offset
        for offset, name in enumerate(ORDER)
        if name in names and not _port_free(args.host, args.base_port + offset)
    ]
    if busy:
        _say(f"port(s) {busy} already in use; choose another --base-port")
        return 2

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    infra = await asyncio.to_thread(_start_infra, args.database_url, args.kafka)
    children: list[Child] = []
    try:
        databases: dict[str, str] = {}
        for name in names:
            if name != GATEWAY:
                db = f"{args.database_prefix}_{name}"
                await ensure_database(infra.database_admin_url, db)
                databases[name] = infra.database_url(db)
        logs = Path(args.data) / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        children = plan(
            names,
            host=args.host,
            base_port=args.base_port,
            kafka=infra.kafka,
            databases=databases,
            logs=logs,
            environ=dict(os.environ),
        )
        for child in children:
            child.log_path.write_text("")
            await child.start(out)
        ready = asyncio.ensure_future(wait_ready(children, args.ready_timeout))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({ready, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not ready.done():
            ready.cancel()
            _say("stopped before every process was ready")
            return 0
        dead = ready.result()
        if dead is not None:
            code = await dead.wait()
            _say(f"{dead.name} exited with code {code} while starting; last lines:")
            out.write(log_tail(dead.log_path, 30) + "\n")
            return 1
        secret = os.environ.get("JWT_SECRET", DEFAULT_DEV_SECRET)
        token = mint_token(
            secret,
            subject="demo-coordinator",
            tenant="demo",
            roles=["admin", "coordinator"],
            issuer=os.environ.get("JWT_ISSUER", "tandem-dev"),
            audience=os.environ.get("JWT_AUDIENCE", "tandem"),
            ttl_s=12 * 3600,
        )
        _banner(children, token)
        await asyncio.gather(*(supervise(c, stop, out) for c in children))
        return 0
    except TimeoutError as exc:
        _say(str(exc))
        return 1
    finally:
        _say("stopping")
        await asyncio.gather(*(c.stop() for c in children))
        await asyncio.to_thread(infra.close)
        _say("stopped")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m launcher.real",
        description="Run every service and the gateway as their own processes "
        "against real PostgreSQL and Kafka.",
    )
    parser.add_argument(
        "--services",
        default=",".join(ORDER),
        help=f"comma-separated subset of {','.join(ORDER)} (default: all)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--base-port",
        type=int,
        default=8100,
        help="gateway port; the services take the next six (default 8100)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server to use (any database; the user needs CREATEDB) "
        "instead of starting one",
    )
    parser.add_argument(
        "--kafka", default=None, help="bootstrap servers of a running Kafka"
    )
    parser.add_argument(
        "--database-prefix",
        default="tandem",
        help="databases are named <prefix>_<service> (default tandem)",
    )
    parser.add_argument("--data", default=".tandem/real", help="folder for the logs")
    parser.add_argument("--ready-timeout", type=float, default=180.0)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
