"""Services as real operating-system processes, to be crashed and restarted.

``ServiceProcess`` runs ``uvicorn --factory services.<name>.main:build_app`` on a free
port with its own database URL and the session's broker, waits for ``/readyz``, and
can be killed with SIGKILL (no shutdown hook runs: a crash, not a stop) and started
again on the same port with the same database. Everything it prints goes to a log
file whose tail the fault tests print when they fail. A watchdog kills it if the test
process itself dies, so no service outlives the session.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from deploy.local import Watchdog, free_port, log_tail
from tests.support.waiting import until_sync

ROOT = Path(__file__).resolve().parents[2]


_TAKEN: set[int] = set()


def _unique_port() -> int:
    """A free port no other process of this harness was given (``free_port`` alone
    does not reserve it, so two processes could be handed the same one)."""
    while True:
        port = free_port()
        if port not in _TAKEN:
            _TAKEN.add(port)
            return port


class ServiceDied(RuntimeError):
    """The service process exited, or did not become ready in time."""


class ServiceProcess:
    """One service under uvicorn in its own process group."""

    def __init__(
        self,
        service: str,
        *,
        database_url: str,
        kafka_bootstrap: str,
        log_dir: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.service = service
        self.database_url = database_url
        self.kafka_bootstrap = kafka_bootstrap
        self.port = _unique_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = log_dir / f"{service}.log"
        self.extra_env = dict(env or {})
        self.starts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._watchdog: Watchdog | None = None

    def _environment(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("OTEL_", "DATABASE_", "KAFKA_"))
        }
        env.update(
            DATABASE_URL=self.database_url,
            KAFKA_BOOTSTRAP_SERVERS=self.kafka_bootstrap,
            ENVIRONMENT="test",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
            **self.extra_env,
        )
        return env

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout_s: float = 90) -> ServiceProcess:
        """Start the process and wait until ``/readyz`` answers 200."""
        if self.running:
            return self
        self.starts += 1
        with open(self.log_file, "ab") as log:
            log.write(f"\n=== start #{self.starts} on port {self.port}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    f"services.{self.service}.main:build_app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._watchdog = Watchdog(self._proc.pid, group=True)
        try:
            self.wait_ready(timeout_s)
        except ServiceDied:
            # Something else took the port meanwhile: move, keep everything else.
            if self.running or "address already in use" not in self.tail(5):
                raise
            self._forget()
            self.port = _unique_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self._note(f"port taken; moving to {self.port}")
            return self.start(timeout_s)
        return self

    def wait_ready(self, timeout_s: float = 90) -> None:
        """Block until ``/readyz`` says every dependency answers."""
        last = "no answer yet"

        def ready() -> bool:
            nonlocal last
            try:
                response = client.get(f"{self.url}/readyz")
            except httpx.HTTPError as exc:
                last = repr(exc)
                return False
            last = response.text
            return response.status_code == 200

        def exited() -> str | None:
            return None if self.running else f"it exited ({self._returncode()})"

        with httpx.Client(timeout=5) as client:
            try:
                until_sync(
                    ready,
                    f"{self.service} to be ready",
                    timeout_s,
                    interval_s=0.1,
                    give_up=exited,
                    detail=lambda: f"last answer: {last}\n{self.tail()}",
                )
            except AssertionError as exc:
                raise ServiceDied(str(exc)) from None

    def _returncode(self) -> int | None:
        return self._proc.returncode if self._proc is not None else None

    def _signal(self, sig: int) -> None:
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, sig)

    def _forget(self) -> None:
        if self._watchdog is not None:
            self._watchdog.disarm()
            self._watchdog = None
        self._proc = None

    def kill(self) -> None:
        """Crash it: SIGKILL, no shutdown hooks, nothing flushed or committed."""
        if self._proc is None:
            return
        self._signal(signal.SIGKILL)
        self._proc.wait()
        self._note("killed with SIGKILL")
        self._forget()

    def stop(self, timeout_s: float = 20) -> None:
        """Graceful stop (SIGTERM), SIGKILL if it does not exit in time."""
        if self._proc is None:
            return
        self._signal(signal.SIGTERM)
        try:
            self._proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self._proc.wait()
        self._forget()

    def restart_after_crash(self, timeout_s: float = 90) -> None:
        """``kill`` then ``start``: same port, same database, same consumer group."""
        self.kill()
        self.start(timeout_s)

    def _note(self, line: str) -> None:
        with open(self.log_file, "a") as log:
            log.write(f"=== {line}\n")

    def tail(self, lines: int = 80) -> str:
        return f"--- {self.log_file.name} (tail) ---\n{log_tail(self.log_file, lines)}"

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<ServiceProcess {self.service} {self.url} {state}>"
