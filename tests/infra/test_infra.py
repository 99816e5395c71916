"""The real infrastructure works: a Kafka broker and a PostgreSQL server."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

TIMEOUT = 20


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def _produce(bootstrap: str, topic: str, *values: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=b"same-partition")
    finally:
        await producer.stop()


async def _consume(
    bootstrap: str, topic: str, group: str, count: int, *, commit: bool = False
) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        values = []
        for _ in range(count):
            msg = await asyncio.wait_for(consumer.getone(), TIMEOUT)
            values.append(msg.value)
        if commit:
            await consumer.commit()
        return values
    finally:
        await consumer.stop()


@pytest.mark.kafka
async def test_kafka_produce_and_consume(kafka_bootstrap: str) -> None:
    topic = _name("infra")
    await _produce(kafka_bootstrap, topic, b"hello", b"world")
    got = await _consume(kafka_bootstrap, topic, _name("group"), 2)
    assert got == [b"hello", b"world"]


@pytest.mark.postgres
async def test_postgres_select_one(database_url: str) -> None:
    assert database_url.startswith("postgresql+asyncpg://")
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("select 1"))).scalar_one() == 1
            db = (await conn.execute(text("select current_database()"))).scalar_one()
            assert db == database_url.rsplit("/", 1)[1]
    finally:
        await engine.dispose()


@pytest.mark.kafka
async def test_kafka_restart_keeps_messages_and_offsets(kafka_broker) -> None:
    bootstrap = kafka_broker.bootstrap_servers
    topic, group = _name("restart"), _name("group")
    await _produce(bootstrap, topic, b"before")
    assert await _consume(bootstrap, topic, group, 1, commit=True) == [b"before"]

    await asyncio.to_thread(kafka_broker.stop)  # skips on an external broker
    try:
        with pytest.raises(OSError):
            await asyncio.open_connection(*bootstrap.rsplit(":", 1))
    finally:
        await asyncio.to_thread(kafka_broker.start)

    await _produce(bootstrap, topic, b"after")
    # The committed offset survived: the group only sees the new message ...
    assert await _consume(bootstrap, topic, group, 1) == [b"after"]
    # ... and the log survived: a new group reads both from the beginning.
    assert await _consume(bootstrap, topic, _name("group"), 2) == [b"before", b"after"]
