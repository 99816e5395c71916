"""Waiting for a condition with a deadline (never for a fixed time).

Every test waits through this module: ``until`` in async code, ``until_sync`` in
code that drives subprocesses or threads. Both poll ``check`` until it returns
something truthy and return that value; past the deadline they raise ``TimedOut``
("timed out waiting for <what>"). ``give_up`` is asked between polls and ends the
wait early with ``GaveUp`` when it returns a reason (a watched process died, a stream
hit its cap), so a broken run fails at once instead of at the deadline. ``detail``
adds text to either failure (the tail of a log, the last answer seen).

A wait that is only best effort (wait up to so long, then measure what happened)
says so where it is called: ``with contextlib.suppress(TimedOut): await until(...)``.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

Reason = Callable[[], str | None]


class TimedOut(AssertionError):
    """The condition did not hold before the deadline."""


class GaveUp(AssertionError):
    """``give_up`` said the condition can no longer hold."""


def _failure(
    error: type[AssertionError], message: str, detail: Callable[[], str] | None
) -> AssertionError:
    if detail is not None:
        message = f"{message}\n{detail()}"
    return error(message)


async def until(
    check: Callable[[], Any],
    what: str,
    timeout_s: float = 90,
    *,
    interval_s: float = 0.1,
    give_up: Reason | None = None,
    detail: Callable[[], str] | None = None,
) -> Any:
    """Poll ``check`` (a coroutine function, or a plain one) until it returns
    something truthy and return that; fail after ``timeout_s`` or once ``give_up``
    gives a reason. ``check`` runs at least once, and once more at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if inspect.isawaitable(found):
            found = await found
        if found:
            return found
        if give_up is not None and (reason := give_up()):
            raise _failure(GaveUp, f"gave up waiting for {what}: {reason}", detail)
        if time.monotonic() >= deadline:
            raise _failure(
                TimedOut, f"timed out waiting for {what} ({timeout_s:g}s)", detail
            )
        await asyncio.sleep(min(interval_s, max(0.0, deadline - time.monotonic())))


def until_sync(
    check: Callable[[], Any],
    what: str,
    timeout_s: float = 90,
    *,
    interval_s: float = 0.2,
    give_up: Reason | None = None,
    detail: Callable[[], str] | None = None,
) -> Any:
    """``until`` for synchronous code (subprocesses, threads): blocks the caller."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if inspect.isawaitable(found):
            if inspect.iscoroutine(found):
                found.close()  # never awaited: say so, without a second warning
            raise TypeError(f"until_sync got an awaitable checking {what}: use until")
        if found:
            return found
        if give_up is not None and (reason := give_up()):
            raise _failure(GaveUp, f"gave up waiting for {what}: {reason}", detail)
        if time.monotonic() >= deadline:
            raise _failure(
                TimedOut, f"timed out waiting for {what} ({timeout_s:g}s)", detail
            )
        time.sleep(min(interval_s, max(0.0, deadline - time.monotonic())))
