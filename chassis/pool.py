"""A connection pool that serves waiting requests first come, first served.

SQLAlchemy's asyncio pool (``AsyncAdaptedQueuePool``) keeps its idle connections in
an ``asyncio.Queue``. A connection given back wakes the request that has waited
longest, but does not hand the connection to it: the woken request only takes it
when the event loop next runs it, and a request arriving in between finds the queue
non-empty and takes the connection at once. The woken request finds the queue empty
again and waits anew, at the back of the line. Under sustained load, when requests
keep arriving while every connection is busy, some requests lose that race again and
again: the sessions service, behind the gateway benchmark's 50 clients, answered half
its calls within 75-104 ms and one in a hundred only after 1.1-1.2 s (up to 2.5 s),
while its CPU cost was the same for every call.

``FairQueue`` hands a connection given back directly to the longest-waiting request
(its future resolved with the connection), and a request arriving while anyone waits
joins the end of the line. Idle connections are only taken without waiting when
nobody is waiting. A request whose wait is cancelled after a connection was handed
to it gives the connection on to the next in line; a wait that times out raises what
the stock queue raises (the pool turns it into its ``TimeoutError``).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.util import queue as sqla_queue

try:  # SQLAlchemy 2.1
    from sqlalchemy.util.concurrency import await_
except ImportError:  # pragma: no cover - SQLAlchemy 2.0
    from sqlalchemy.util.concurrency import await_only as await_

T = TypeVar("T")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class FairQueue(sqla_queue.QueueCommon[T], Generic[T]):
    """The pool's idle connections, handed to waiting requests in arrival order.

    Used from the pool's synchronous code running in SQLAlchemy's greenlet (as
    ``AsyncAdaptedQueue`` is): a wait is ``await_`` on a future of the running loop.
    """

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        self.maxsize = maxsize
        self.use_lifo = use_lifo
        self._items: deque[T] = deque()
        self._waiters: deque[asyncio.Future[T]] = deque()

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self._items)

    def qsize(self) -> int:
        return len(self._items)

    def waiting(self) -> int:
        """Requests waiting for a connection now."""
        return sum(1 for w in self._waiters if not w.done())

    def put_nowait(self, item: T) -> None:
        loop = _running_loop()
        while self._waiters and loop is not None:
            waiter = self._waiters[0]
            if waiter.done() or waiter.get_loop().is_closed():
                self._waiters.popleft()  # gone: cancelled, timed out, loop closed
                continue
            if waiter.get_loop() is not loop:
                break  # not to be woken from here: the item waits idle instead
            self._waiters.popleft()
            waiter.set_result(item)
            return
        if self.full():
            raise sqla_queue.Full()
        self._items.append(item)

    def put(self, item: T, block: bool = True, timeout: float | None = None) -> None:
        # The pool never gives back more connections than it holds: a put never waits.
        self.put_nowait(item)

    def get_nowait(self) -> T:
        if not self._items:
            raise sqla_queue.Empty()
        return self._items.pop() if self.use_lifo else self._items.popleft()

    def get(self, block: bool = True, timeout: float | None = None) -> T:
        if self._items or not block:
            # Items are only idle while nobody waits (a put hands them over).
            return self.get_nowait()
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[T] = loop.create_future()
        self._waiters.append(waiter)
        expired = False

        def expire() -> None:
            nonlocal expired
            if not waiter.done():
                expired = True
                waiter.cancel()

        timer = loop.call_later(timeout, expire) if timeout is not None else None
        try:
            return await_(waiter)
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                # Handed a connection, then stopped before taking it: pass it on.
                self.put_nowait(waiter.result())
            if expired and isinstance(exc, asyncio.CancelledError):
                raise sqla_queue.Empty() from None
            raise
        finally:
            if timer is not None:
                timer.cancel()
            if not waiter.done():
                waiter.cancel()
            try:
                self._waiters.remove(waiter)
            except ValueError:
                pass  # handed over (or skipped) by a put


class FairAsyncQueuePool(AsyncAdaptedQueuePool):
    """``AsyncAdaptedQueuePool`` whose waiting requests are served in arrival order
    (``FairQueue``)."""

    _queue_class = FairQueue  # type: ignore[assignment]
