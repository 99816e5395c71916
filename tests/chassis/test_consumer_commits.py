"""The consumer runner commits its offsets now and then, and never loses one.

While running, applied batches' offsets are committed at most every
``commit_every_s`` (each commit is a broker request), always after their effects
committed, and whatever is still uncommitted is committed when the runner stops.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.db import create_engine
from chassis.envelope import Envelope
from chassis.events import NewEvent
from chassis.messaging import ConsumerRunner, InProcessBus, OutboundMessage
from chassis.messaging.transport import InboundMessage
from tests.support.waiting import until

pytestmark = pytest.mark.postgres
TOPIC = "tandem.test.v1"


def message(n: int) -> OutboundMessage:
    envelope = Envelope(
        id=str(uuid.uuid4()),
        source="tandem/test",
        type="ThingHappened",
        subject=f"s-{n % 3}",
        time=NewEvent("x", {}).time,
        data={"n": n},
        tenant="acme",
    )
    return OutboundMessage.of(TOPIC, envelope)


async def test_offsets_are_committed_now_and_then_and_all_of_them_at_the_stop(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    bus = InProcessBus()
    applied: list[int] = []

    async def handle(envelope: Envelope, conn: AsyncConnection) -> None:
        applied.append(envelope.data["n"])

    runner = ConsumerRunner(
        name=f"test-{uuid.uuid4().hex[:6]}",
        topics=[TOPIC],
        engine=engine,
        transport=bus,
        handlers={"ThingHappened": handle},
        poll_timeout_s=0.05,
        commit_every_s=3600,
    )
    try:
        await runner.start()
        subscriber = runner.subscriber
        assert subscriber is not None
        commits: list[int] = []
        commit = subscriber.commit

        async def counted(messages: Sequence[InboundMessage]) -> None:
            commits.append(max(m.offset for m in messages) + 1)
            await commit(messages)

        subscriber.commit = counted  # type: ignore[method-assign]
        await bus.publish([message(n) for n in range(5)])
        stop = asyncio.Event()
        running = asyncio.create_task(runner.run(stop))
        await until(lambda: len(applied) == 5, "the first five applied", 30)
        await bus.publish([message(n) for n in range(5, 12)])
        await until(lambda: len(applied) == 12, "all twelve applied", 30)
        assert commits == [5], "the first batch at once, the next not yet"

        stop.set()
        await asyncio.wait_for(running, 30)
        assert commits == [5, 12], "what was left is committed at the stop"
        assert applied == list(range(12))

        # A runner of the same group starts after the last commit: nothing again.
        again = ConsumerRunner(
            name=runner.name,
            topics=[TOPIC],
            engine=engine,
            transport=bus,
            handlers={"ThingHappened": handle},
        )
        await again.start()
        try:
            assert await again.poll_once() == 0
        finally:
            await again.stop()
    finally:
        await engine.dispose()
