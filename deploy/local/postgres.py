"""A real, throw-away PostgreSQL server for tests, benchmarks and local runs.

``PostgresServer().start()`` runs ``initdb`` into a temporary folder and starts a
private postmaster on 127.0.0.1 at a free port (trust authentication, superuser
``postgres``). When this process runs as root the cluster is owned by, and runs
as, the ``postgres`` OS user, because PostgreSQL refuses to run as root.

``PostgresServer.from_url(url)`` wraps an already running server instead (for
example ``DATABASE_URL`` in CI); it can create and drop databases but cannot be
stopped or restarted.

The server binaries come from ``pg_config --bindir``, ``/usr/lib/postgresql/*/bin``
or PATH; ``deploy/bootstrap.sh`` installs them on Debian.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import glob
import logging
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from deploy.local import Watchdog, free_port, log_tail, pid_alive

__all__ = ["PostgresServer", "find_bindir"]

log = logging.getLogger(__name__)

_SERVER_TOOLS = ("initdb", "pg_ctl", "postgres")
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _has_server_tools(bindir: Path) -> bool:
    return all(os.access(bindir / tool, os.X_OK) for tool in _SERVER_TOOLS)


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path)) or (0,)


def find_bindir() -> Path:
    """Directory holding initdb/pg_ctl/postgres, or a RuntimeError explaining."""
    candidates: list[Path] = []
    env_bindir = os.environ.get("PG_BINDIR")
    if env_bindir:
        candidates.append(Path(env_bindir))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.strip()
            if out:
                candidates.append(Path(out))
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key)
    candidates.extend(Path(p) for p in reversed(debian))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for bindir in candidates:
        if _has_server_tools(bindir):
            return bindir
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found "
        "(looked at $PG_BINDIR, `pg_config --bindir`, /usr/lib/postgresql/*/bin "
        "and PATH). Install them with deploy/bootstrap.sh (as root or via sudo), "
        "or point DATABASE_URL at an existing server."
    )


def _run_in_thread(coro_fn, *args):
    """Run an async function on a fresh event loop in a worker thread.

    Works whether or not the caller is already inside a running event loop.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro_fn(*args)).result()


def _plain_url(url: str) -> str:
    """``postgresql+asyncpg://...`` -> ``postgresql://...`` (for asyncpg)."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "postgres":
        scheme = "postgresql"
    if scheme != "postgresql":
        raise ValueError(f"not a PostgreSQL URL: {url!r}")
    return urlunsplit(parts._replace(scheme=scheme))


def _replace_db(url: str, dbname: str, driver: str | None) -> str:
    parts = urlsplit(url)
    scheme = driver or parts.scheme
    return urlunsplit(parts._replace(scheme=scheme, path="/" + quote(dbname)))


def _check_name(name: str) -> str:
    if not _IDENT_RE.match(name):
        raise ValueError(
            f"database name {name!r} must match {_IDENT_RE.pattern} "
            "(letters, digits, underscore; at most 63 characters)"
        )
    return name


async def _execute(admin_url: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_plain_url(admin_url), timeout=10)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _drop(admin_url: str, name: str) -> None:
    import asyncpg

    try:
        await _execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except asyncpg.PostgresSyntaxError:  # server older than 13
        await _execute(admin_url, f'DROP DATABASE IF EXISTS "{name}"')


_LIVE: set[PostgresServer] = set()
_LIVE_LOCK = threading.Lock()


@atexit.register
def _stop_all_at_exit() -> None:
    with _LIVE_LOCK:
        servers = list(_LIVE)
    for server in servers:
        with contextlib.suppress(Exception):
            server.close()


class PostgresServer:
    """A private PostgreSQL cluster (or a wrapper around an existing server)."""

    superuser = "postgres"

    def __init__(self, port: int | None = None, base_dir: Path | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self._owns_dir = base_dir is None
        self._base_dir = Path(base_dir).resolve() if base_dir else None
        self._external_url: str | None = None
        self._durable = False
        self._postmaster_pid: int | None = None
        self._watchdog: Watchdog | None = None
        self._bindir: Path | None = None
        self._closed = False

    # -- existing servers ----------------------------------------------------

    @classmethod
    def from_url(cls, url: str) -> PostgresServer:
        """Wrap an existing server; ``url`` may carry any database and driver.

        :meth:`create_database` / :meth:`drop_database` work (the user needs the
        CREATEDB privilege); :meth:`start`/:meth:`stop`/:meth:`restart`/:meth:`kill`
        raise, because the server is not ours.
        """
        parts = urlsplit(url)
        server = cls.__new__(cls)
        server.host = parts.hostname or "127.0.0.1"
        server.port = parts.port or 5432
        server._owns_dir = False
        server._base_dir = None
        server._external_url = _replace_db(
            _plain_url(url), parts.path.lstrip("/") or "postgres", None
        )
        server._durable = True
        server._postmaster_pid = None
        server._watchdog = None
        server._bindir = None
        server._closed = False
        return server

    @property
    def is_external(self) -> bool:
        return self._external_url is not None

    def _require_own(self, what: str) -> None:
        if self.is_external:
            raise RuntimeError(
                f"cannot {what} an external PostgreSQL server ({self.admin_url})"
            )

    # -- URLs ----------------------------------------------------------------

    @property
    def admin_url(self) -> str:
        """libpq URL of the maintenance database (``postgres``) as superuser."""
        if self._external_url is not None:
            return self._external_url
        return f"postgresql://{self.superuser}@{self.host}:{self.port}/postgres"

    def url_for(self, dbname: str, driver: str = "postgresql+asyncpg") -> str:
        """URL of database ``dbname``; ``driver`` is the URL scheme to use."""
        return _replace_db(self.admin_url, dbname, driver)

    def create_database(self, name: str | None = None) -> str:
        """Create a database (random name by default); return its asyncpg URL."""
        name = _check_name(name or f"t_{uuid.uuid4().hex[:16]}")
        _run_in_thread(_execute, self.admin_url, f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, terminating its open connections."""
        _run_in_thread(_drop, self.admin_url, _check_name(name))

    # -- paths and commands ---------------------------------------------------

    @property
    def base_dir(self) -> Path:
        if self._base_dir is None:
            raise RuntimeError("the server has not been started")
        return self._base_dir

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "postgres.log"

    @property
    def bindir(self) -> Path:
        if self._bindir is None:
            self._bindir = find_bindir()
        return self._bindir

    @staticmethod
    def _as_root() -> bool:
        return os.geteuid() == 0

    def _cmd(self, tool: str, *args: str) -> list[str]:
        cmd = [str(self.bindir / tool), *args]
        if not self._as_root():
            return cmd
        runuser = shutil.which("runuser")
        if runuser:
            return [runuser, "-u", "postgres", "--", *cmd]
        su = shutil.which("su") or "su"
        return [su, "postgres", "-s", "/bin/sh", "-c", subprocess.list2cmdline(cmd)]

    def _run(self, tool: str, *args: str, timeout: float = 120) -> str:
        proc = subprocess.run(
            self._cmd(tool, *args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            cwd=self.base_dir,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{tool} {' '.join(args)} failed (exit {proc.returncode}):\n"
                f"{proc.stdout[-4000:]}\n--- {self.log_file} (tail) ---\n"
                f"{log_tail(self.log_file)}"
            )
        return proc.stdout

    def _chown(self, path: Path) -> None:
        if self._as_root():
            pw = pwd.getpwnam("postgres")
            os.chown(path, pw.pw_uid, pw.pw_gid)

    # -- lifecycle -------------------------------------------------------------

    def _init_cluster(self) -> None:
        if self._base_dir is None:
            self._base_dir = Path(tempfile.mkdtemp(prefix="tandem-pg-"))
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if self._as_root():
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError(
                    "running as root, but there is no `postgres` OS user to own "
                    "the cluster; run deploy/bootstrap.sh or run as a normal user"
                ) from None
        self._chown(self.base_dir)
        if (self.data_dir / "PG_VERSION").is_file():
            return
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            self.superuser,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        with open(self.data_dir / "postgresql.conf", "a") as fh:
            fh.write("\n# Written by deploy/local/postgres.py\ninclude 'tandem.conf'\n")

    def _write_settings(self, durable: bool) -> None:
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.data_dir}'",
            "max_connections": "300",
            "shared_buffers": "'128MB'",
            "logging_collector": "off",
            "log_min_messages": "warning",
            "dynamic_shared_memory_type": "posix",
        }
        if not durable:
            settings.update(
                fsync="off", synchronous_commit="off", full_page_writes="off"
            )
        conf = self.data_dir / "tandem.conf"
        conf.write_text("".join(f"{k} = {v}\n" for k, v in settings.items()))
        self._chown(conf)

    def start(self, durable: bool = False, timeout: float = 60) -> PostgresServer:
        """initdb (first time only) and start the server; wait until it answers.

        ``durable=False`` turns off fsync, synchronous_commit and
        full_page_writes (fast tests); ``durable=True`` keeps PostgreSQL's
        crash-safe defaults (benchmarks).
        """
        self._require_own("start")
        if self._closed:
            raise RuntimeError("this PostgresServer was closed; create a new one")
        if self._postmaster_pid is not None and self._pid_alive():
            return self
        self._durable = durable
        self._init_cluster()
        self._write_settings(durable)
        self._run(
            "pg_ctl",
            "start",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            str(int(timeout)),
            timeout=timeout + 10,
        )
        self._postmaster_pid = self._read_pid()
        self._watchdog = Watchdog(
            self._postmaster_pid,
            group=False,
            sig=signal.SIGQUIT,  # PostgreSQL's "immediate" shutdown
            remove_dir=self.base_dir if self._owns_dir else None,
        )
        with _LIVE_LOCK:
            _LIVE.add(self)
        self._wait_ready(time.monotonic() + timeout)
        return self

    def _read_pid(self) -> int:
        return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])

    def _pid_alive(self) -> bool:
        if self._postmaster_pid is None:
            return False
        return pid_alive(self._postmaster_pid)

    def _wait_ready(self, deadline: float) -> None:
        async def probe(url: str) -> None:
            import asyncpg

            conn = await asyncpg.connect(url, timeout=5)
            try:
                await conn.fetchval("select 1")
            finally:
                await conn.close()

        while True:
            try:
                _run_in_thread(probe, self.admin_url)
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"PostgreSQL on {self.host}:{self.port} does not accept "
                        f"connections: {exc!r}\n--- {self.log_file} (tail) ---\n"
                        f"{log_tail(self.log_file)}"
                    ) from exc
                time.sleep(0.1)

    def _forget(self) -> None:
        if self._watchdog is not None:
            self._watchdog.disarm()
            self._watchdog = None
        self._postmaster_pid = None
        with _LIVE_LOCK:
            _LIVE.discard(self)

    def stop(self, timeout: float = 60) -> None:
        """Fast shutdown (``pg_ctl stop -m fast``); the data folder is kept."""
        self._require_own("stop")
        if self._postmaster_pid is None:
            return
        if self._pid_alive():
            try:
                self._run(
                    "pg_ctl",
                    "stop",
                    "-D",
                    str(self.data_dir),
                    "-m",
                    "fast",
                    "-w",
                    "-t",
                    str(int(timeout)),
                    timeout=timeout + 10,
                )
            except (RuntimeError, subprocess.TimeoutExpired):
                log.warning("pg_ctl stop failed; killing the postmaster")
                self.kill()
                return
        self._forget()

    def kill(self) -> None:
        """Crash the server: SIGKILL the postmaster and its backends."""
        self._require_own("kill")
        pid = self._postmaster_pid
        if pid is None:
            return
        children = self._children(pid)
        for target in [pid, *children]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(target, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self._pid_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        self._forget()

    @staticmethod
    def _children(pid: int) -> list[int]:
        children: list[int] = []
        for stat in glob.glob("/proc/[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = Path(stat).read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    children.append(int(Path(stat).parent.name))
        return children

    def restart(self, timeout: float = 60) -> PostgresServer:
        """Stop (if running) and start again: same port, data and durability."""
        self._require_own("restart")
        if self._postmaster_pid is not None:
            self.stop()
        return self.start(durable=self._durable, timeout=timeout)

    def close(self) -> None:
        """Stop the server and delete its temporary folder (no-op if external)."""
        if self.is_external:
            return
        self.stop()
        self._closed = True
        if self._owns_dir and self._base_dir is not None:
            shutil.rmtree(self._base_dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        kind = "external" if self.is_external else "local"
        return f"<PostgresServer {kind} {self.host}:{self.port}>"
