"""Aggregates, repositories, upcasting, CloudEvents binding, embedded runtime."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.aggregate import Aggregate
from chassis.db import create_engine
from chassis.envelope import Envelope, MalformedMessage, event_name
from chassis.errors import ConcurrencyConflict, DomainError
from chassis.events import (
    EventMetadata,
    EventPayload,
    EventRegistry,
    NewEvent,
    UnsupportedSchemaVersion,
)
from chassis.eventstore import event_store_for
from chassis.messaging import InProcessBus, topic_for
from chassis.repository import Repository, retrying
from chassis.runtime import ServiceRuntime
from chassis.settings import ServiceSettings
from tests.support.waiting import until

registry = EventRegistry()


@registry.register
class SeatsOffered(EventPayload):
    mentor_id: str
    seats: int


@registry.register
class SeatTaken(EventPayload):
    """v2 renamed ``who`` to ``mentee_id`` and added ``format``."""

    schema_version = 2
    mentee_id: str
    format: str


@registry.upcaster("SeatTaken", from_version=1)
def _seat_taken_v1_to_v2(data: dict) -> dict:
    return {"mentee_id": data.pop("who"), "format": "one-to-one"}


class NoSeatLeft(DomainError):
    code = "NoSeatLeft"


class MentorSeats(Aggregate):
    def initial_state(self) -> None:
        self.seats = 0
        self.mentees: list[str] = []

    @classmethod
    def offer(cls, mentor_id: str, tenant: str, seats: int) -> MentorSeats:
        agg = cls(mentor_id, tenant)
        agg.initial_state()
        agg._record(SeatsOffered(mentor_id=mentor_id, seats=seats))
        return agg

    def take(self, mentee_id: str) -> None:
        if len(self.mentees) >= self.seats:
            raise NoSeatLeft(f"mentor {self.id} has no seat left")
        self._record(SeatTaken(mentee_id=mentee_id, format="one-to-one"))

    def when_SeatsOffered(self, e: SeatsOffered) -> None:
        self.seats = e.seats

    def when_SeatTaken(self, e: SeatTaken) -> None:
        self.mentees.append(e.mentee_id)


# -- given events → when command → then events ------------------------------------


def test_taking_a_seat_records_it():
    given = [SeatsOffered(mentor_id="m-1", seats=2)]
    agg = MentorSeats.rebuild("m-1", "acme", given)
    agg.take("e-1")
    assert agg.pending_events == [SeatTaken(mentee_id="e-1", format="one-to-one")]
    assert agg.version == 2 and agg.stored_version == 1


def test_no_seat_left_is_refused_and_records_nothing():
    given = [
        SeatsOffered(mentor_id="m-1", seats=1),
        SeatTaken(mentee_id="e-1", format="x"),
    ]
    agg = MentorSeats.rebuild("m-1", "acme", given)
    with pytest.raises(NoSeatLeft):
        agg.take("e-2")
    assert agg.pending_events == []


def test_upcaster_refuses_versions_it_cannot_read():
    with pytest.raises(UnsupportedSchemaVersion):
        registry.upcast("SeatTaken", 3, {})


# -- repository on a real store ---------------------------------------------------


@pytest.fixture
async def repo(sqlite_url):
    engine = create_engine(sqlite_url)
    store = event_store_for(engine)
    await store.create_schema()
    yield Repository(store, registry, MentorSeats)
    await engine.dispose()


META = EventMetadata(tenant="acme", actor="coordinator-1")


async def test_save_then_load_gives_the_same_state(repo):
    agg = MentorSeats.offer("m-1", "acme", seats=2)
    agg.take("e-1")
    await repo.save(agg, META)
    loaded = await repo.get("m-1", "acme")
    assert (loaded.seats, loaded.mentees, loaded.version) == (2, ["e-1"], 2)
    assert await repo.find("m-1", "globex") is None


async def test_a_stored_v1_event_is_upcast_when_loaded(repo):
    await repo.store.append(
        "m-1",
        "MentorSeats",
        0,
        [
            NewEvent("SeatsOffered", {"mentor_id": "m-1", "seats": 3}),
            NewEvent("SeatTaken", {"who": "e-9"}, schema_version=1),
        ],
        META,
    )
    loaded = await repo.get("m-1", "acme")
    assert loaded.mentees == ["e-9"]


async def test_stale_writer_gets_a_conflict_and_a_retry_succeeds(repo):
    await repo.save(MentorSeats.offer("m-1", "acme", seats=5), META)
    first, second = await repo.get("m-1", "acme"), await repo.get("m-1", "acme")
    first.take("e-1")
    second.take("e-2")
    await repo.save(first, META)
    with pytest.raises(ConcurrencyConflict):
        await repo.save(second, META)

    async def take_seat() -> None:
        agg = await repo.get("m-1", "acme")
        agg.take("e-2")
        await repo.save(agg, META)

    await retrying(take_seat)
    assert (await repo.get("m-1", "acme")).mentees == ["e-1", "e-2"]


# -- CloudEvents binding ----------------------------------------------------------


def sample_envelope() -> Envelope:
    return Envelope(
        id="0d9c7a2e-1a39-4c5b-8a0b-7c1e0b6a1f10",
        source="tandem/matching",
        type="PairingConfirmed",
        subject="pairing-1",
        time=NewEvent("x", {}).time,
        data={"mentor": "p-1", "mentee": "p-2"},
        tenant="acme",
        schema_version=2,
        stream_type="Pairing",
        stream_version=4,
        actor="coordinator-1",
        correlation_id="corr-1",
        causation_id="cause-1",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )


def test_kafka_binding_round_trips_every_attribute():
    env = sample_envelope()
    assert Envelope.from_kafka(env.kafka_headers(), env.kafka_value()) == env
    assert env.kafka_key() == b"pairing-1"
    headers = dict(env.kafka_headers())
    assert headers["ce_specversion"] == b"1.0"
    assert headers["content-type"] == b"application/json"
    # CloudEvents attribute names are lower-case letters and digits only.
    assert all(re.fullmatch(r"[a-z0-9]+", name) for name in env.attributes())


def test_kafka_headers_follow_the_binary_content_mode():
    """``datacontenttype`` is the ``content-type`` header alone; every other
    attribute one ``ce_`` header; the type prefixed by its producer and versioned."""
    env = sample_envelope()
    names = [name for name, _ in env.kafka_headers()]
    assert len(names) == len(set(names))
    assert "ce_datacontenttype" not in names
    assert [n for n in names if not n.startswith("ce_")] == ["content-type"]
    assert {n.removeprefix("ce_") for n in names if n != "content-type"} == set(
        env.attributes()
    )
    headers = dict(env.kafka_headers())
    assert headers["ce_type"] == b"org.tandem.matching.PairingConfirmed.v2"
    assert re.fullmatch(
        rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", headers["ce_time"]
    )


def test_the_old_shape_decodes_to_the_same_envelope():
    """Bare ``ce_type`` and ``ce_datacontenttype`` (sent up to 0.1.0) still read."""
    env = sample_envelope()
    old = [
        (k, b"PairingConfirmed" if k == "ce_type" else v)
        for k, v in env.kafka_headers()
    ] + [("ce_datacontenttype", b"application/json")]
    assert Envelope.from_kafka(old, env.kafka_value()) == env
    assert event_name("PairingConfirmed") == "PairingConfirmed"
    assert event_name("org.tandem.matching.PairingConfirmed.v2") == "PairingConfirmed"


def test_structured_json_round_trips():
    env = sample_envelope()
    assert Envelope.from_json(env.to_json()) == env
    assert env.to_json()["datacontenttype"] == "application/json"
    assert env.to_json()["type"] == "org.tandem.matching.PairingConfirmed.v2"
    # ... and a Kafka message in structured mode is read as one (binding §3).
    structured = [("content-type", b"application/cloudevents+json; charset=UTF-8")]
    value = json.dumps(env.to_json(), default=str).encode()
    assert Envelope.from_kafka(structured, value) == env


def _with(**changed: bytes) -> list[tuple[str, bytes]]:
    return [
        (k, changed.get(k.replace("-", "_"), v))
        for k, v in sample_envelope().kafka_headers()
    ]


@pytest.mark.parametrize(
    "headers, value",
    [
        ([], b"{}"),
        ([("ce_id", b"1"), ("ce_source", b"s"), ("ce_type", b"T")], b"{}"),
        (sample_envelope().kafka_headers(), b"not json"),
        (sample_envelope().kafka_headers(), b"[1, 2]"),
        (
            [
                (k, b"2.0" if k == "ce_specversion" else v)
                for k, v in sample_envelope().kafka_headers()
            ],
            b"{}",
        ),
        # a type neither prefixed nor a bare event name
        (_with(ce_type=b"com.example.PairingConfirmed"), b"{}"),
        # the type's version disagrees with the schema version
        (_with(ce_type=b"org.tandem.matching.PairingConfirmed.v3"), b"{}"),
        # data that is not JSON by its content type
        (_with(content_type=b"application/avro"), b"{}"),
    ],
)
def test_malformed_messages_are_named_as_such(headers, value):
    with pytest.raises(MalformedMessage):
        Envelope.from_kafka(headers, value)


def test_a_long_attribute_is_read_but_not_remembered():
    """The parses of ``ce_type`` and ``content-type`` are cached for short values
    only: a producer sending megabyte attributes fills no cache."""
    from chassis import envelope as module

    name = "E" + "x" * 1_000_000
    headers = [
        ("content-type", b"application/json; x=" + b"y" * 1_000_000),
        ("ce_specversion", b"1.0"),
        ("ce_id", b"e-1"),
        ("ce_source", b"tandem/demo"),
        ("ce_type", f"org.tandem.demo.{name}.v1".encode()),
        ("ce_time", b"2026-01-01T00:00:00Z"),
        ("ce_tenant", b"acme"),
    ]
    before = (
        module._parse_ce_type_cached.cache_info().currsize,
        module._is_json_cached.cache_info().currsize,
    )
    assert Envelope.from_kafka(headers, b"{}").type == name
    assert (
        module._parse_ce_type_cached.cache_info().currsize,
        module._is_json_cached.cache_info().currsize,
    ) == before


# -- two services on the embedded in-process bus -----------------------------------


class DemoSettings(ServiceSettings):
    service_name: str = "demo"


async def test_embedded_runtimes_talk_over_the_in_process_bus(tmp_path):
    bus = InProcessBus()
    seen: list[str] = []

    async def on_seats_offered(envelope: Envelope, conn: AsyncConnection) -> None:
        await conn.execute(
            text("INSERT INTO offers (mentor_id) VALUES (:m)"),
            {"m": envelope.data["mentor_id"]},
        )
        seen.append(envelope.tenant)

    async def create_offers(engine) -> None:
        async with engine.begin() as conn:
            await conn.execute(
                text("CREATE TABLE IF NOT EXISTS offers (mentor_id TEXT)")
            )

    producer = ServiceRuntime(
        DemoSettings(
            service_name="seats", database_url=f"sqlite+aiosqlite:///{tmp_path}/a.db"
        ),
        transport=bus,
    )
    consumer = ServiceRuntime(
        DemoSettings(
            service_name="insight", database_url=f"sqlite+aiosqlite:///{tmp_path}/b.db"
        ),
        transport=bus,
        consumes=[topic_for("seats")],
        handlers={"SeatsOffered": on_seats_offered},
        setup=create_offers,
    )
    await producer.start()
    await consumer.start()
    try:
        repo = Repository(producer.store, registry, MentorSeats)
        repo.on_saved.append(lambda _events: producer.relay.notify())
        await repo.save(MentorSeats.offer("m-7", "acme", seats=1), META)
        await until(lambda: seen, "the offer consumed", 10, interval_s=0.02)
    finally:
        await consumer.stop()
        await producer.stop()
    assert seen == ["acme"]
