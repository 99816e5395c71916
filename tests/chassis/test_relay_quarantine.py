"""The relay never stalls: an event it can never publish is quarantined, and the
events after it are published in order; operators inspect and replay it.

The Kafka test makes the real broker and producer refuse: one event is larger than
the topic's ``max.message.bytes`` (the broker answers MESSAGE_TOO_LARGE), one is
larger than the producer's request limit (refused before it is sent). The store's own
limit is raised above both so they can be recorded at all.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Sequence

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.auth import Role, mint_token
from chassis.db import create_engine
from chassis.envelope import Envelope
from chassis.events import EventMetadata, NewEvent, RecordedEvent
from chassis.eventstore import EventStore, event_store_for
from chassis.http import create_app
from chassis.http.dead_letters import dead_letter_router
from chassis.messaging import InProcessBus, Relay, create_consumer_schema
from chassis.messaging.kafka import KafkaTransport
from chassis.settings import DEFAULT_DEV_SECRET, ServiceSettings
from chassis.telemetry import setup_telemetry
from tests.chassis.test_messaging import eventually, read_topic

ACME = EventMetadata(tenant="acme", actor="coordinator-1")
GLOBEX = EventMetadata(tenant="globex", actor="coordinator-9")


def bearer(tenant: str, *roles: Role) -> dict[str, str]:
    token = mint_token(
        DEFAULT_DEV_SECRET, "op-1", tenant, list(roles), "tandem-dev", "tandem"
    )
    return {"authorization": f"Bearer {token}"}


def quarantined_count(reader: InMemoryMetricReader) -> dict[str, int]:
    data = reader.get_metrics_data()
    out: dict[str, int] = {}
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == "tandem.relay.quarantined":
                    for point in metric.data.data_points:
                        reason = str(point.attributes.get("reason"))
                        out[reason] = out.get(reason, 0) + int(point.value)
    return out


async def letters(engine: AsyncEngine, owner: str) -> list:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                text(
                    "SELECT id, event_id, error, partition_no, offset_no, headers "
                    "FROM dead_letters WHERE consumer = :c ORDER BY offset_no"
                ),
                {"c": owner},
            )
        ).all()


@pytest.mark.kafka
@pytest.mark.postgres
async def test_events_the_broker_refuses_are_quarantined_and_the_rest_flow(
    database_url: str, kafka_bootstrap: str
) -> None:
    topic = f"test.quarantine.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:  # this topic's broker limit is 100 kB; the producer's stays at 1 MiB
        await admin.create_topics(
            [NewTopic(topic, 1, 1, topic_configs={"max.message.bytes": "100000"})]
        )
    finally:
        await admin.close()
    engine = create_engine(database_url)
    store = event_store_for(engine, max_event_bytes=4 * 1024 * 1024)
    await store.create_schema()
    await create_consumer_schema(engine)
    transport = KafkaTransport(kafka_bootstrap)
    reader = InMemoryMetricReader()
    telemetry = setup_telemetry("quarantine-test", metric_reader=reader)
    relay = Relay(
        store,
        transport,
        topic=topic,
        source="tandem/test",
        quarantine_topic=f"{topic}.dlt",
    )
    try:
        sizes = [10, 200_000, 10, 1_200_000, 10, 10]  # bytes of filler per event
        stored = []
        for n, size in enumerate(sizes, start=1):
            stored += await store.append(
                "s-1",
                "Thing",
                n - 1,
                [NewEvent("ThingHappened", {"n": n, "fill": "x" * size})],
                ACME,
            )

        async def caught_up() -> bool:
            await relay.run_once()
            return relay.published + relay.quarantined == len(sizes)

        await eventually(caught_up)

        records = await read_topic(kafka_bootstrap, topic, 4)
        # A broker-side refusal fails only its own batch: what followed it in the
        # same send may have landed and is sent again (consumers drop the double).
        published = [json.loads(r.value)["n"] for r in records]
        assert list(dict.fromkeys(published)) == [1, 3, 5, 6]
        rows = await letters(engine, relay.name)
        assert [r.event_id for r in rows] == [str(stored[1].id), str(stored[3].id)]
        assert all(r.partition_no == -1 for r in rows)
        assert [r.offset_no for r in rows] == [
            stored[1].position.sequence,
            stored[3].position.sequence,
        ]
        assert all("TooLarge" in r.error for r in rows)
        assert all(["ce_tenant", "acme"] in json.loads(r.headers) for r in rows)
        notices = await read_topic(kafka_bootstrap, f"{topic}.dlt", 2)
        assert [dict(n.headers)["ce_id"].decode() for n in notices] == [
            str(stored[1].id),
            str(stored[3].id),
        ]
        assert all(n.value in (b"", None) for n in notices)
        assert quarantined_count(reader) == {"too_large": 2}
        # The checkpoint is past everything: a restarted relay publishes nothing.
        again = Relay(store, transport, topic=topic, source="tandem/test")
        assert await again.run_once() == 0
    finally:
        telemetry.shutdown()
        await transport.stop()
        await engine.dispose()


class Translator:
    """A translator with a bug for ``Broken`` events, until it is fixed."""

    def __init__(self) -> None:
        self.fixed = False

    def __call__(self, event: RecordedEvent) -> Sequence[Envelope]:
        if event.event_type == "BrokenHappened" and not self.fixed:
            raise KeyError("contract field 'level' missing")
        return [Envelope.from_recorded(event, "tandem/test")]


@pytest.fixture
async def rig(
    tmp_path,
) -> AsyncIterator[
    tuple[EventStore, Relay, InProcessBus, Translator, httpx.AsyncClient]
]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/quarantine.db")
    store = event_store_for(engine)
    await store.create_schema()
    await create_consumer_schema(engine)
    bus = InProcessBus()
    translator = Translator()
    relay = Relay(
        store, bus, topic="tandem.test.v1", source="tandem/test", translate=translator
    )
    settings = ServiceSettings(service_name="test", environment="test")
    app = create_app(
        settings,
        title="t",
        version="1",
        routers=[dead_letter_router(engine, bus, None, relay=relay)],
    )
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    )
    yield store, relay, bus, translator, client
    await client.aclose()
    await engine.dispose()


def ns(bus: InProcessBus, topic: str = "tandem.test.v1") -> list[int]:
    return [json.loads(m.value or b"{}")["n"] for m in bus.messages(topic)]


async def test_an_untranslatable_event_is_retried_then_quarantined_and_replayed(
    rig,
) -> None:
    store, relay, bus, translator, client = rig
    await store.append("s-1", "Thing", 0, [NewEvent("ThingHappened", {"n": 1})], ACME)
    broken = await store.append(
        "s-2", "Thing", 0, [NewEvent("BrokenHappened", {"n": 2})], ACME
    )
    await store.append("s-1", "Thing", 1, [NewEvent("ThingHappened", {"n": 3})], ACME)
    await store.append(
        "g-1", "Thing", 0, [NewEvent("BrokenHappened", {"n": 4})], GLOBEX
    )

    for _ in range(relay.max_attempts - 1):  # a bug may be passing: retried first
        with pytest.raises(KeyError):
            await relay.run_once()
    assert ns(bus) == [1] and relay.quarantined == 0  # what came before flows
    for _ in range(relay.max_attempts):  # then the other tenant's broken one
        with contextlib.suppress(KeyError):
            await relay.run_once()
    assert ns(bus) == [1, 3]
    assert relay.quarantined == 2
    assert await relay.run_once() == 0
    notices = bus.messages("tandem.test.v1.dlt")
    assert notices[0].header("ce_id") == str(broken[0].id)

    acme, globex = bearer("acme", Role.ADMIN), bearer("globex", Role.ADMIN)
    listed = (await client.get("/admin/dead-letters", headers=acme)).json()
    assert [i["event_id"] for i in listed["items"]] == [str(broken[0].id)]
    item = listed["items"][0]
    assert item["source"] == "relay" and "KeyError" in item["reason"]
    assert item["attempts"] == relay.max_attempts
    detail = (
        await client.get(f"/admin/dead-letters/{item['id']}", headers=acme)
    ).json()
    assert detail["payload"] == {"n": 2}
    # Another organisation's admin neither sees nor replays it; an operator sees all.
    assert [
        i["tenant"]
        for i in (await client.get("/admin/dead-letters", headers=globex)).json()[
            "items"
        ]
    ] == ["globex"]
    hidden = await client.post(
        f"/admin/dead-letters/{item['id']}/replay", headers=globex
    )
    assert hidden.status_code == 404
    operator = bearer("globex", Role.OPERATOR)
    everyone = (await client.get("/admin/dead-letters", headers=operator)).json()
    assert {i["tenant"] for i in everyone["items"]} == {"acme", "globex"}
    coordinator = bearer("acme", Role.COORDINATOR)
    assert (
        await client.get("/admin/dead-letters", headers=coordinator)
    ).status_code == 403

    # Before the fix a replay is a typed refusal and changes nothing.
    early = await client.post(f"/admin/dead-letters/{item['id']}/replay", headers=acme)
    assert early.status_code == 409 and early.json()["code"] == "EventUnpublishable"
    assert ns(bus) == [1, 3]
    pending = await client.get("/admin/dead-letters?replayed=false", headers=acme)
    assert len(pending.json()["items"]) == 1

    translator.fixed = True
    done = await client.post(f"/admin/dead-letters/{item['id']}/replay", headers=acme)
    assert done.status_code == 202 and done.json()["replayed_at"]
    assert ns(bus) == [1, 3, 2]
    twice = await client.post(f"/admin/dead-letters/{item['id']}/replay", headers=acme)
    assert twice.status_code == 409 and ns(bus) == [1, 3, 2]


async def test_a_message_over_the_brokers_limit_is_quarantined_without_a_try(
    rig,
) -> None:
    store, _relay, _bus, _translator, _client = rig

    class SmallBroker(InProcessBus):
        def fits(self, message) -> bool:
            return len(message.value) <= 1000

    small = SmallBroker()
    relay = Relay(store, small, topic="tandem.test.v1", source="tandem/test")
    for n, size in enumerate([1, 5000, 1], start=1):
        await store.append(
            "s-1",
            "Thing",
            n - 1,
            [NewEvent("ThingHappened", {"n": n, "f": "x" * size})],
            ACME,
        )
    assert await relay.run_once() == 3
    assert ns(small) == [1, 3]
    assert relay.quarantined == 1
    rows = await letters(store.engine, relay.name)
    assert len(rows) == 1 and "larger than the broker accepts" in rows[0].error
