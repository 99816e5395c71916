"""Infrastructure shared by the benchmarks: a real PostgreSQL server, fresh databases.

The server is obtained exactly as the tests obtain theirs (``tests/conftest.py``):

* ``DATABASE_URL`` set: that existing server is used (its user must be allowed to
  ``CREATE DATABASE``); it is never stopped.
* otherwise: a throw-away cluster is started with ``deploy.local.postgres`` and
  stopped (and deleted) at the end. Benchmarks start it with ``durable=True``:
  PostgreSQL's own crash-safe defaults (``fsync=on``, ``synchronous_commit=on``,
  ``full_page_writes=on``), as in production, unlike the tests' fast setting.

Whatever the source, :func:`durability` reads the settings back from the server, so
a benchmark reports what it really measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import importlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from deploy.local.postgres import PostgresServer

__all__ = [
    "CpuMeter",
    "Durability",
    "PgParams",
    "durability",
    "ensure_installed",
    "fresh_database",
    "pg_params",
    "postgres_server",
]


@contextlib.contextmanager
def postgres_server(*, durable: bool = True) -> Iterator[PostgresServer]:
    """The benchmark's PostgreSQL server: ``$DATABASE_URL``'s, or a private one."""
    url = os.environ.get("DATABASE_URL")
    if url:
        print(f"PostgreSQL: existing server from DATABASE_URL ({_safe(url)})")
        yield PostgresServer.from_url(url)
        return
    server = PostgresServer()
    print(f"PostgreSQL: starting a private server (durable={durable}) ...", flush=True)
    server.start(durable=durable)
    try:
        yield server
    finally:
        server.close()


@contextlib.asynccontextmanager
async def fresh_database(server: PostgresServer, prefix: str) -> AsyncIterator[str]:
    """A new, empty database on ``server`` (asyncpg URL); dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    url = await asyncio.to_thread(server.create_database, name)
    try:
        yield url
    finally:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(server.drop_database, name)


@dataclass(frozen=True)
class PgParams:
    """Connection parameters of a URL, for libraries that do not take URLs."""

    host: str
    port: int
    user: str
    password: str
    dbname: str


def pg_params(url: str) -> PgParams:
    parts = urlsplit(url)
    return PgParams(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or ""),
        dbname=unquote(parts.path.lstrip("/")) or "postgres",
    )


@dataclass(frozen=True)
class Durability:
    fsync: str
    synchronous_commit: str
    full_page_writes: str

    @property
    def durable(self) -> bool:
        return (
            self.fsync == "on"
            and self.synchronous_commit not in ("off", "local")
            and self.full_page_writes == "on"
        )

    def __str__(self) -> str:
        return (
            f"fsync={self.fsync}, synchronous_commit={self.synchronous_commit}, "
            f"full_page_writes={self.full_page_writes}"
        )


async def durability(url: str) -> Durability:
    """Read the server's commit-durability settings back."""
    import asyncpg

    p = pg_params(url)
    conn = await asyncpg.connect(
        host=p.host, port=p.port, user=p.user, password=p.password, database=p.dbname
    )
    try:
        values = [
            await conn.fetchval(f"SHOW {name}")
            for name in ("fsync", "synchronous_commit", "full_page_writes")
        ]
    finally:
        await conn.close()
    return Durability(*values)


def ensure_installed(module: str, requirement: str) -> None:
    """Import ``module``; if missing, ``pip install`` ``requirement`` first."""
    try:
        importlib.import_module(module)
        return
    except ImportError:
        pass
    print(f"{module} is not installed: running pip install -q {requirement!r}")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", requirement], check=True
    )
    importlib.invalidate_caches()
    importlib.import_module(module)


def _safe(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        parts = parts._replace(netloc=netloc)
    return parts.geturl()


class CpuMeter:
    """CPU seconds used by this process and by the PostgreSQL server's processes.

    The server side is only measured for a server this benchmark runs (its postmaster
    and backends are read from procfs); for an external server it is ``None``.
    """

    def __init__(self, server: PostgresServer) -> None:
        self._postmaster: int | None = None
        if not server.is_external:
            pid_file = server.data_dir / "postmaster.pid"
            with contextlib.suppress(OSError, ValueError, IndexError):
                self._postmaster = int(pid_file.read_text().splitlines()[0])
        self._tick = os.sysconf("SC_CLK_TCK")

    def snapshot(self) -> tuple[float, float | None]:
        return time.process_time(), self._server_cpu()

    def since(self, snap: tuple[float, float | None]) -> tuple[float, float | None]:
        client, server = self.snapshot()
        used = None if server is None or snap[1] is None else server - snap[1]
        return client - snap[0], used

    def _server_cpu(self) -> float | None:
        if self._postmaster is None:
            return None
        ticks = 0
        for stat in glob.glob("/proc/[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                pid = int(stat.split("/")[2])
                fields = Path(stat).read_text().rsplit(")", 1)[1].split()
                # fields[0] is field 3 (state) of proc(5): ppid=1, utime=11, ...
                if pid == self._postmaster:
                    # Backends that exited are accounted in cutime/cstime.
                    ticks += sum(int(f) for f in fields[11:15])
                elif int(fields[1]) == self._postmaster:
                    ticks += int(fields[11]) + int(fields[12])
        return ticks / self._tick
