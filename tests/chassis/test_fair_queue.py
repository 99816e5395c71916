"""The pool's queue of idle connections (``chassis.pool.FairQueue``), without a
database: used as SQLAlchemy's pool uses it, from code run in its greenlet."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.util import queue as sqla_queue
from sqlalchemy.util.concurrency import greenlet_spawn

from chassis.pool import FairQueue

pytestmark = pytest.mark.unit


async def take(queue: FairQueue[str], wait_s: float | None = 5.0) -> str:
    return await greenlet_spawn(queue.get, True, wait_s)


async def test_an_idle_item_is_taken_at_once() -> None:
    queue: FairQueue[str] = FairQueue(2)
    queue.put("a", False)
    assert await take(queue) == "a"
    assert queue.empty()


async def test_items_given_back_go_to_the_waiters_in_arrival_order() -> None:
    queue: FairQueue[str] = FairQueue(3)
    order: list[tuple[str, str]] = []

    async def waiter(name: str) -> None:
        order.append((name, await take(queue)))

    first = asyncio.create_task(waiter("first"))
    await asyncio.sleep(0)
    second = asyncio.create_task(waiter("second"))
    await asyncio.sleep(0)
    assert queue.waiting() == 2
    queue.put("x", False)
    # Arriving after the hand-over but before "first" ran: it waits its turn.
    newcomer = asyncio.create_task(waiter("newcomer"))
    await asyncio.sleep(0)
    assert queue.empty()  # "x" is first's, not lying idle for the newcomer
    queue.put("y", False)
    queue.put("z", False)
    await asyncio.gather(first, second, newcomer)
    assert order == [("first", "x"), ("second", "y"), ("newcomer", "z")]
    assert queue.waiting() == 0


async def test_a_wait_past_its_timeout_raises_empty_and_leaves_the_line() -> None:
    queue: FairQueue[str] = FairQueue(1)
    with pytest.raises(sqla_queue.Empty):
        await take(queue, wait_s=0.05)
    assert queue.waiting() == 0
    queue.put("a", False)  # kept for the next request, not handed to the gone one
    assert await take(queue) == "a"


async def test_an_item_handed_to_a_cancelled_waiter_goes_to_the_next() -> None:
    queue: FairQueue[str] = FairQueue(1)
    doomed = asyncio.create_task(take(queue))
    await asyncio.sleep(0)
    patient = asyncio.create_task(take(queue))
    await asyncio.sleep(0)
    queue.put("a", False)  # handed to "doomed" ...
    doomed.cancel()  # ... which is cancelled before it takes it
    with pytest.raises(asyncio.CancelledError):
        await doomed
    assert await patient == "a"


async def test_a_waiter_cancelled_before_anything_came_leaves_the_line() -> None:
    queue: FairQueue[str] = FairQueue(1)
    gone = asyncio.create_task(take(queue))
    await asyncio.sleep(0)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert queue.waiting() == 0
    queue.put("a", False)
    assert queue.qsize() == 1  # idle, for whoever comes next
    assert await take(queue) == "a"


def test_a_full_queue_refuses_one_more() -> None:
    queue: FairQueue[str] = FairQueue(1)
    queue.put("a", False)
    with pytest.raises(sqla_queue.Full):
        queue.put("b", False)
