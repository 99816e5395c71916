"""Real local infrastructure (PostgreSQL, Kafka) for tests, benchmarks and dev runs.

* :class:`deploy.local.postgres.PostgresServer` - throw-away PostgreSQL cluster.
* :class:`deploy.local.kafka.KafkaBroker` - single-node KRaft Kafka broker.
* ``python -m deploy.local up`` - start both and print their connection settings.

This module only holds small process helpers shared by both servers; it imports
nothing but the standard library so importing it is cheap.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
from pathlib import Path

__all__ = ["Watchdog", "free_port", "log_tail", "pid_alive"]


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is currently free.

    Prefers ports below the kernel's ephemeral range, so that the outgoing
    connections of clients cannot grab the port of a server while it is being
    restarted; falls back to letting the kernel pick (bind to port 0).
    """
    low, _ = _ephemeral_range()
    if low > 20000:
        rng = random.SystemRandom()
        for _ in range(50):
            port = rng.randrange(15000, low)
            if _bindable(port):
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs: trust kill(0)
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def log_tail(path: Path, lines: int = 60) -> str:
    """Last ``lines`` lines of a log file (empty string when it does not exist)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


_WATCHDOG_CODE = r"""
import os, shutil, signal, sys, time
pid, sig = int(sys.argv[1]), int(sys.argv[3])
group, rmdir = sys.argv[2] == "1", sys.argv[4]
signal.signal(signal.SIGINT, signal.SIG_IGN)
data = sys.stdin.buffer.read()
if data.startswith(b"disarm"):
    sys.exit(0)
send = os.killpg if group else os.kill
def alive():
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
try:
    send(pid, sig)
except (ProcessLookupError, PermissionError):
    pass
deadline = time.monotonic() + 10
while alive() and time.monotonic() < deadline:
    time.sleep(0.1)
try:
    send(pid, signal.SIGKILL)
except (ProcessLookupError, PermissionError):
    pass
if rmdir:
    time.sleep(0.2)
    shutil.rmtree(rmdir, ignore_errors=True)
"""


class Watchdog:
    """Kill a server process when the Python process that started it dies.

    A tiny helper process blocks on a pipe whose only writer is this process.
    If this process dies in any way (even SIGKILL) the pipe reaches EOF and the
    helper signals ``pid`` (its process group when ``group``), escalates to
    SIGKILL after 10 s and optionally removes ``remove_dir``. A clean shutdown
    calls :meth:`disarm` first so the helper exits without doing anything.
    """

    def __init__(
        self,
        pid: int,
        *,
        group: bool,
        sig: int = signal.SIGTERM,
        remove_dir: Path | None = None,
    ) -> None:
        args = [str(pid), "1" if group else "0", str(int(sig)), str(remove_dir or "")]
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG_CODE, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def disarm(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.stdin is None:
            return
        try:
            proc.stdin.write(b"disarm")
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
