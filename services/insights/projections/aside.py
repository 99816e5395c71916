"""A rebuild's pure computation on the machine's other core: ``Aside``.

A rebuild folds every read model in memory and then writes them one after another
through its one connection (``read_models.py``). The scorecard parts' computation is
pure Python (no I/O) and as long as the rest of the writing, so it runs in a forked
child of the process while the parent writes the other read models: the child starts
with the parent's memory (the folded facts, nothing copied or sent), computes, and
sends back only its result (pickled, through a pipe); the parent writes it in the
rebuild's transaction as before. Nothing but that result leaves the child: it uses no
connection, and ends with ``os._exit`` (no handler, no finaliser, no socket of the
parent's touched).

Where ``os.fork`` does not exist, or ``inline`` is asked, the computation runs in the
parent when its result is asked for, with the same result. An error in the child is
raised in the parent when the result is asked for (the rebuild then rolls back); a
rebuild that ends before asking ``close``s it (the child is stopped and reaped).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
CHUNK = 1 << 20


def _forget_signals() -> None:
    """The child answers signals as a plain process: none is handed to the parent's
    event loop (whose wake-up socket the child shares) or its handlers."""
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


class AsideFailed(RuntimeError):
    """The forked computation failed (its error, as text) or died."""


def _read_all(fd: int) -> bytes:
    parts = []
    while chunk := os.read(fd, CHUNK):
        parts.append(chunk)
    return b"".join(parts)


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]


class Aside(Generic[T]):
    """``compute()`` started now, in a forked child where possible; its result by
    ``await result()``."""

    def __init__(self, compute: Callable[[], T], *, inline: bool = False) -> None:
        self._compute: Callable[[], T] | None = compute
        self._pid: int | None = None
        self._fd: int | None = None
        if inline or not hasattr(os, "fork"):
            return
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: compute, send, and leave without any cleanup
            status = 0
            try:
                _forget_signals()
                os.close(read_fd)
                try:
                    payload = pickle.dumps((True, compute()), pickle.HIGHEST_PROTOCOL)
                except Exception as exc:  # sent back, raised in the parent
                    payload = pickle.dumps((False, f"{type(exc).__name__}: {exc}"))
                _write_all(write_fd, payload)
            except BaseException:
                status = 1
            finally:
                os._exit(status)
        os.close(write_fd)
        self._pid, self._fd, self._compute = pid, read_fd, None

    async def result(self) -> T:
        if self._compute is not None:  # inline
            compute, self._compute = self._compute, None
            return compute()
        assert self._fd is not None, "a result is asked for once"
        fd, self._fd = self._fd, None
        try:
            payload = await asyncio.to_thread(_read_all, fd)
        finally:
            os.close(fd)
            self._reap()
        try:
            ok, value = pickle.loads(payload)
        except Exception as exc:
            raise AsideFailed("the forked computation died") from exc
        if not ok:
            raise AsideFailed(value)
        return value

    def close(self) -> None:
        """Drop a result never asked for: the child is stopped and reaped."""
        self._compute = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            if self._pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self._pid, signal.SIGKILL)
            self._reap()

    def _reap(self) -> None:
        if self._pid is not None:
            pid, self._pid = self._pid, None
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
