"""Event-store contract: one suite, run against PostgreSQL and against SQLite."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from chassis.db import create_engine
from chassis.errors import ConcurrencyConflict, Conflict, ValidationFailed
from chassis.events import EventMetadata, LogPosition, NewEvent
from chassis.eventstore import (
    EventStore,
    EventTooLarge,
    StreamTenantMismatch,
    event_store_for,
    postgres,
)
from chassis.eventstore.base import dumps
from chassis.eventstore.batch import StreamAppend, append_groups, append_streams

ACME = EventMetadata(tenant="acme", actor="user-1", correlation_id="corr-1")
GLOBEX = EventMetadata(tenant="globex", actor="user-9")
GLOBEX_IN_ACME = EventMetadata(tenant="acme", actor="user-9", causation_id="c-7")


def ev(n: int, kind: str = "Thing") -> NewEvent:
    return NewEvent(event_type=f"{kind}Happened", data={"n": n})


async def read_whole_log(store: EventStore) -> list:
    out, pos = [], LogPosition.START
    while batch := await store.read_log(pos, limit=7):
        out.extend(batch)
        pos = batch[-1].position
    return out


class EventStoreContract:
    """Behaviour every backend must show; subclasses provide the ``store`` fixture."""

    async def test_append_then_read_stream_in_version_order(self, store: EventStore):
        recorded = await store.append("s-1", "Thing", 0, [ev(1), ev(2)], ACME)
        await store.append("s-1", "Thing", 2, [ev(3)], ACME)

        events = await store.read_stream("s-1")
        assert [e.version for e in events] == [1, 2, 3]
        assert [e.data["n"] for e in events] == [1, 2, 3]
        assert [e.id for e in events[:2]] == [r.id for r in recorded]
        assert events[0].stream_type == "Thing"
        assert events[0].event_type == "ThingHappened"
        assert events[0].metadata.actor == "user-1"
        assert events[0].metadata.correlation_id == "corr-1"
        assert events[0].time.tzinfo is not None

    async def test_several_streams_are_read_at_once_each_in_version_order(
        self, store: EventStore
    ):
        await store.append("s-1", "Thing", 0, [ev(1), ev(2)], ACME)
        await store.append("s-2", "Thing", 0, [ev(3)], ACME)
        await store.append("s-1", "Thing", 2, [ev(4)], ACME)
        await store.append("g-1", "Thing", 0, [ev(5)], GLOBEX)

        both = await store.read_streams(["s-2", "s-1", "s-1", "nope", "g-1"])
        assert {k: [e.data["n"] for e in v] for k, v in both.items()} == {
            "s-1": [1, 2, 4],
            "s-2": [3],
            "g-1": [5],
        }
        mine = await store.read_streams(["s-1", "g-1"], tenant="acme")
        assert list(mine) == ["s-1"]  # another tenant's stream is left out
        assert await store.read_streams([]) == {}

    async def test_every_event_carries_its_tenant(self, store: EventStore):
        await store.append("a-1", "Thing", 0, [ev(1)], ACME)
        await store.append("g-1", "Thing", 0, [ev(2)], GLOBEX)
        log = await read_whole_log(store)
        assert {(e.stream_id, e.tenant) for e in log} == {
            ("a-1", "acme"),
            ("g-1", "globex"),
        }

    async def test_stale_expected_version_conflicts_and_writes_nothing(self, store):
        await store.append("s-1", "Thing", 0, [ev(1)], ACME)
        with pytest.raises(ConcurrencyConflict) as info:
            await store.append("s-1", "Thing", 0, [ev(99), ev(100)], ACME)
        assert info.value.status == 409
        with pytest.raises(ConcurrencyConflict):
            await store.append("s-1", "Thing", 5, [ev(99)], ACME)
        events = await store.read_stream("s-1")
        assert [e.data["n"] for e in events] == [1]

    async def test_concurrent_writers_on_one_stream_exactly_one_wins(self, store):
        await store.append("hot", "Thing", 0, [ev(0)], ACME)
        results = await asyncio.gather(
            *(store.append("hot", "Thing", 1, [ev(i)], ACME) for i in range(1, 9)),
            return_exceptions=True,
        )
        winners = [r for r in results if not isinstance(r, Exception)]
        assert len(winners) == 1
        assert all(
            isinstance(r, ConcurrencyConflict) for r in results if r not in winners
        )
        assert [e.version for e in await store.read_stream("hot")] == [1, 2]

    async def test_streams_are_isolated(self, store: EventStore):
        await store.append("s-1", "Thing", 0, [ev(1)], ACME)
        await store.append("s-2", "Thing", 0, [ev(2), ev(3)], ACME)
        assert [e.data["n"] for e in await store.read_stream("s-1")] == [1]
        assert [e.data["n"] for e in await store.read_stream("s-2")] == [2, 3]
        assert await store.read_stream("nope") == []
        assert await store.stream_version("s-2") == 2

    async def test_another_tenants_stream_reads_empty_and_refuses_appends(self, store):
        await store.append("a-1", "Thing", 0, [ev(1)], ACME)
        assert await store.read_stream("a-1", tenant="globex") == []
        assert len(await store.read_stream("a-1", tenant="acme")) == 1
        with pytest.raises(StreamTenantMismatch):
            await store.append("a-1", "Thing", 1, [ev(2)], GLOBEX)
        assert len(await store.read_stream("a-1")) == 1

    async def test_bad_input_is_refused_with_field_errors(self, store: EventStore):
        with pytest.raises(ValidationFailed) as info:
            await store.append("", "Thing", -1, [], EventMetadata(tenant=""))
        paths = {e.path for e in info.value.errors}
        assert paths == {"stream_id", "expected_version", "events", "metadata.tenant"}
        assert await read_whole_log(store) == []

    async def test_duplicate_event_id_is_refused(self, store: EventStore):
        event = ev(1)
        await store.append("s-1", "Thing", 0, [event], ACME)
        with pytest.raises(Conflict):
            await store.append("s-2", "Thing", 0, [event], ACME)
        assert await store.read_stream("s-2") == []

    async def test_global_log_reads_everything_once_in_order(self, store: EventStore):
        for i in range(20):
            await store.append(f"s-{i % 3}", "Thing", i // 3, [ev(i)], ACME)
        log = await read_whole_log(store)
        assert [e.data["n"] for e in log] == list(range(20))
        positions = [e.position for e in log]
        assert positions == sorted(positions) and len(set(positions)) == 20
        assert await store.read_log(log[-1].position) == []

    async def test_an_event_larger_than_the_broker_takes_is_refused_whole(self, store):
        # Exactly at the limit is stored; one byte more (a non-ASCII character
        # counts as what it takes serialised) refuses the whole append.
        meta = dumps({k: v for k, v in ACME.as_dict().items() if k != "tenant"})
        room = store.max_event_bytes - len(meta) - len(dumps({"t": ""}))
        await store.append(
            "s-0",
            "Thing",
            0,
            [ev(0, "Fit"), NewEvent("FitHappened", {"t": "x" * room})],
            ACME,
        )
        for filler in ("x" * (room + 1), "é" * (room // 6 + 1)):
            with pytest.raises(EventTooLarge) as info:
                await store.append(
                    "s-1",
                    "Thing",
                    0,
                    [ev(1), NewEvent("BigHappened", {"t": filler})],
                    ACME,
                )
            assert info.value.status == 413
            assert info.value.problem()["code"] == "EventTooLarge"
            assert info.value.problem()["max_bytes"] == store.max_event_bytes
        async with store.engine.begin() as conn:  # in a caller's transaction too
            with pytest.raises(EventTooLarge):
                await store.append(
                    "s-1",
                    "Thing",
                    0,
                    [NewEvent("BigHappened", {"t": "x" * (room + 1)})],
                    ACME,
                    connection=conn,
                )
        assert await store.read_stream("s-1") == []
        assert [e.stream_id for e in await read_whole_log(store)] == ["s-0", "s-0"]

    async def test_groups_of_several_tenants_append_together_each_as_its_own(
        self, store
    ):
        """``append_groups``: each group's streams get its tenant and metadata, in
        one batch; the results per group, per stream, in the order given."""
        await store.append("g-1", "Thing", 0, [ev(0)], GLOBEX)
        async with store.engine.begin() as conn:
            recorded = await append_groups(
                store,
                [
                    (ACME, [StreamAppend("a-1", "Thing", 0, [ev(1), ev(2)])]),
                    (GLOBEX, []),
                    (
                        GLOBEX,
                        [
                            StreamAppend("g-1", "Thing", 1, [ev(3)]),
                            StreamAppend("g-2", "Thing", 0, [ev(4)]),
                        ],
                    ),
                    (GLOBEX_IN_ACME, [StreamAppend("a-2", "Thing", 0, [ev(5)])]),
                ],
                connection=conn,
            )
        assert [[[e.data["n"] for e in s] for s in g] for g in recorded] == [
            [[1, 2]],
            [],
            [[3], [4]],
            [[5]],
        ]
        log = await read_whole_log(store)
        assert [(e.stream_id, e.version, e.tenant) for e in log] == [
            ("g-1", 1, "globex"),
            ("a-1", 1, "acme"),
            ("a-1", 2, "acme"),
            ("g-1", 2, "globex"),
            ("g-2", 1, "globex"),
            ("a-2", 1, "acme"),
        ]
        by_stream = {e.stream_id: e.metadata for e in log}
        assert by_stream["a-1"].actor == "user-1"
        assert by_stream["g-2"].actor == "user-9"
        assert by_stream["a-2"].causation_id == "c-7"

    @pytest.mark.parametrize(
        ("group", "error"),
        [
            (StreamAppend("a-1", "Thing", 0, [ev(9)]), ConcurrencyConflict),
            (StreamAppend("a-1", "Thing", 1, [ev(9)]), StreamTenantMismatch),
        ],
    )
    async def test_a_refused_stream_of_any_group_writes_nothing(
        self, store, group, error
    ):
        """A stream that moved on, or that is another tenant's, refuses the whole
        batch (every group), wherever it stands in it."""
        await store.append("a-1", "Thing", 0, [ev(0)], ACME)
        groups = [
            (GLOBEX, [StreamAppend("g-1", "Thing", 0, [ev(1)])]),
            (ACME, [StreamAppend("a-9", "Thing", 0, [ev(2)])]),
            (
                GLOBEX if error is StreamTenantMismatch else ACME,
                [StreamAppend("x-1", "Thing", 0, [ev(3)]), group],
            ),
        ]
        with pytest.raises(error):
            async with store.engine.begin() as conn:
                await append_groups(store, groups, connection=conn)
        assert [e.stream_id for e in await read_whole_log(store)] == ["a-1"]

    async def test_append_inside_a_callers_transaction_rolls_back_with_it(self, store):
        with pytest.raises(RuntimeError):
            async with store.engine.begin() as conn:
                await store.append("s-1", "Thing", 0, [ev(1)], ACME, connection=conn)
                raise RuntimeError("effect failed")
        assert await store.read_stream("s-1") == []


class TestPostgresEventStore(EventStoreContract):
    @pytest.fixture
    async def store(self, database_url):
        engine = create_engine(database_url)
        store = event_store_for(engine)
        await store.create_schema()
        yield store
        await engine.dispose()

    async def test_create_schema_is_idempotent_across_processes(self, store):
        await asyncio.gather(store.create_schema(), store.create_schema())

    @pytest.mark.parametrize("held", [postgres.RECENT_EVENTS, 3])
    async def test_the_log_read_back_from_memory_is_the_log_in_the_database(
        self, store, database_url, monkeypatch, held
    ):
        """The events a store appended are read back from its memory (spared their
        decoding), and what it reads is what a store holding nothing reads: the same
        events, data and order, nothing of a rolled-back append, other writers'
        events among them, the oldest let go past its bound."""
        monkeypatch.setattr(postgres, "RECENT_EVENTS", held)
        other = event_store_for(create_engine(database_url))
        try:
            await store.append("s-1", "Thing", 0, [ev(1)], ACME)
            await store.append("s-1", "Thing", 1, [ev(2), ev(3)], GLOBEX_IN_ACME)
            with pytest.raises(RuntimeError):
                async with store.engine.begin() as conn:
                    await store.append(
                        "s-2", "Thing", 0, [ev(4)], ACME, connection=conn
                    )
                    raise RuntimeError("effect failed")
            await other.append("s-3", "Thing", 0, [ev(5)], GLOBEX)
            async with store.engine.begin() as conn:
                await append_streams(
                    store,
                    [
                        StreamAppend("s-2", "Thing", 0, [ev(6), ev(7)]),
                        StreamAppend("s-4", "Thing", 0, [ev(8)]),
                        StreamAppend("s-5", "Thing", 0, [ev(9)]),
                    ],
                    ACME,
                    connection=conn,
                )
            held_now = len(store._recent)
            assert 0 < held_now <= held, "it holds what it appended, up to its bound"

            mine = await read_whole_log(store)
            read_back = {e.position.sequence for e in mine}
            assert not read_back & set(store._recent), "read back once, then let go"
            fresh = event_store_for(create_engine(database_url))
            try:
                assert mine == await read_whole_log(fresh)
                assert not fresh._recent, "a store that appended nothing holds nothing"
            finally:
                await fresh.engine.dispose()
        finally:
            await other.engine.dispose()
        assert [e.data["n"] for e in mine] == [1, 2, 3, 5, 6, 7, 8, 9]
        assert [e.stream_id for e in mine][-4:] == ["s-2", "s-2", "s-4", "s-5"]


class TestSQLiteEventStore(EventStoreContract):
    @pytest.fixture
    async def store(self, tmp_path):
        engine = create_engine(
            f"sqlite+aiosqlite:///{tmp_path}/events-{uuid.uuid4().hex}.db"
        )
        store = event_store_for(engine)
        await store.create_schema()
        yield store
        await engine.dispose()
