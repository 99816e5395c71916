"""``fact_people``, the index of the ids each fact names: an erasure finds the facts
and warnings naming the person through it, and the consumer the end of a pairing,
wherever a fact names them, without reading the organisation's whole history.

The index is complete by construction (every id-shaped string of every fact), so the
tests hold that rule, the erasure's result on facts naming the person in every way an
event can, the plans on a large history, and the facts kept before revision 0007
(indexed by it).
"""

from __future__ import annotations

import contextlib
import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from chassis.envelope import Envelope
from chassis.migrations.runner import upgrade
from services.insights.domain.erasure import ERASED_PREFIX, strings_in
from services.insights.projections import erasure, health
from services.insights.projections import facts as fact_log

AT = datetime(2027, 1, 4, 9, tzinfo=UTC)
TENANT = "acme"


def fact(
    kind: str, data: dict, *, subject: str = "s", tenant: str = TENANT
) -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        source="tandem/test",
        type=kind,
        subject=subject,
        time=AT,
        data=data,
        tenant=tenant,
    )


def naming(p: str, m: str) -> list[Envelope]:
    """Facts naming ``p`` in every way an event can (and ``m``, who stays)."""
    rel = str(uuid.uuid4())
    return [
        fact("PersonRegistered", {"person_id": p, "level": 5}, subject=p),  # own
        fact("NoteWritten", {"relationship_id": rel, "author_id": p}),  # own
        fact(
            "RelationshipStarted",
            {"relationship_id": rel, "mentor_id": m, "mentee_id": p},
            subject=rel,
        ),
        fact("SessionScheduled", {"relationship_id": rel, "scheduled_by": p}),
        fact("CouncilFormed", {"council_id": rel, "members": [m, {"who": [p]}]}),
        fact("ScoresComputed", {"scores": {p: 0.8, m: 0.6}}),  # a key
        fact("Something", {"relationship_id": rel}, subject=p),  # the subject only
    ]


# -- the rule (pure) -------------------------------------------------------------------


def test_every_id_shaped_string_of_a_fact_is_indexed():
    p, m, rel = (str(uuid.uuid4()) for _ in range(3))
    upper = str(uuid.uuid4()).upper()
    data = {
        "person_id": "hr-42",  # a person field indexes any id, as before
        "mentor_id": ERASED_PREFIX + "0011",  # a pseudonym is no one's
        "relationship_id": rel,
        "nested": [{"deep": [p]}, {m: 1}],
        "other": upper,
        "longer": f"x-{p}",  # not an id: a longer string holding one
        "text": f'said "{m}"',  # an id quoted inside a longer string
    }
    text_ = json.dumps(data, separators=(",", ":"))
    found = fact_log.mentioned(data, text_, p)
    assert {"hr-42", rel, p, m, upper} <= found
    assert ERASED_PREFIX + "0011" not in found and f"x-{p}" not in found
    # Indexing more than asked costs rows, never a miss: the quoted id inside the
    # text may be indexed, and the erasure then finds the fact does not name them.
    assert found - {"hr-42", rel, p, m, upper} <= {m}


def test_no_id_shaped_string_is_ever_missed():
    """The property the erasure relies on, over random JSON: every string that
    ``is_id`` accepts, wherever it is, is among ``mentioned``."""
    rng = random.Random(19)
    pool = [str(uuid.uuid4()) for _ in range(6)] + ["a", "b-c", "", '"', "\\", "é"]
    pool.append(str(uuid.uuid4()).upper())

    def value(depth: int) -> object:
        roll = rng.random()
        if depth > 3 or roll < 0.4:
            return rng.choice([*pool, 1, 2.5, None, True])
        if roll < 0.7:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        return {rng.choice(pool): value(depth + 1) for _ in range(rng.randint(0, 4))}

    for _ in range(500):
        data = {rng.choice(pool): value(0) for _ in range(rng.randint(1, 5))}
        subject = rng.choice(pool)
        text_ = json.dumps(data, separators=(",", ":"))
        want = {s for s in strings_in(data) | {subject} if fact_log.is_id(s)}
        assert want <= fact_log.mentioned(data, text_, subject), data


def test_the_revision_indexes_with_the_code_s_patterns():
    from importlib import import_module

    revision = import_module(
        "services.insights.migrations.versions.0007_fact_people_every_id"
    )
    assert revision.ID_TOKENS_SQL == fact_log.ID_TOKENS_SQL
    assert revision.ID_SHAPED_SQL == fact_log.ID_SHAPED_SQL


# -- on PostgreSQL ---------------------------------------------------------------------


@contextlib.contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[tuple[str, tuple]]]:
    """The statements sent through ``engine`` meanwhile, as sent (with parameters)."""
    sent: list[tuple[str, tuple]] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)


async def _explain(engine: AsyncEngine, statement: str, parameters: tuple) -> str:
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        rows = await driver.fetch(f"EXPLAIN {statement}", *parameters)
    return "\n".join(r[0] for r in rows)


async def _facts_naming(engine: AsyncEngine, person: str) -> list[tuple[str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT type, data FROM facts WHERE tenant = :t "
                "AND (data LIKE :l OR subject = :p)"
            ),
            {"t": TENANT, "l": f'%"{person}"%', "p": person},
        )
        return [(kind, data) for kind, data in rows.all()]


async def _erase(engine: AsyncEngine, person: str) -> str:
    pseudonym = ERASED_PREFIX + uuid.uuid4().hex[:16]
    async with engine.begin() as conn:
        await erasure.erase_facts(conn, TENANT, person, pseudonym)
    return pseudonym


async def _check_erased(engine: AsyncEngine, p: str, m: str, pseudonym: str) -> None:
    assert await _facts_naming(engine, p) == []
    async with engine.connect() as conn:
        kinds = {
            kind: data
            for kind, data in (
                await conn.execute(
                    text("SELECT type, data FROM facts WHERE tenant = :t"),
                    {"t": TENANT},
                )
            ).all()
        }
        left = await conn.execute(
            text(
                "SELECT count(*) FROM fact_people p LEFT JOIN facts f USING (event_id) "
                "WHERE p.person_id = :p AND (f.tenant = :t OR f.tenant IS NULL)"
            ),
            {"p": p, "t": TENANT},
        )
        assert left.scalar_one() == 0
    # The person's own facts left; the others keep their figures under a pseudonym.
    assert not {"PersonRegistered", "NoteWritten", "Something"} & kinds.keys()
    for kind in ("RelationshipStarted", "SessionScheduled", "CouncilFormed"):
        assert pseudonym in kinds[kind], kind
    assert m in kinds["RelationshipStarted"] and m in kinds["ScoresComputed"]
    assert json.loads(kinds["ScoresComputed"])["scores"][pseudonym] == 0.8


async def test_an_erasure_finds_every_fact_naming_the_person_by_the_index(
    postgres_server,
):
    engine = create_async_engine(postgres_server.create_database(), poolclass=NullPool)
    try:
        await upgrade(engine, "insights")
        p, m = str(uuid.uuid4()), str(uuid.uuid4())
        others = [
            fact(
                "RelationshipStarted", {"mentor_id": m, "mentee_id": str(uuid.uuid4())}
            )
            for _ in range(50)
        ]
        elsewhere = fact("PersonRegistered", {"person_id": p}, tenant="other")
        async with engine.begin() as conn:
            await fact_log.record_many([*naming(p, m), *others, elsewhere], conn)
        pseudonym = await _erase(engine, p)
        await _check_erased(engine, p, m, pseudonym)
        async with engine.connect() as conn:  # another organisation's facts stay
            kept = await conn.execute(text("SELECT count(*) FROM facts"))
            assert kept.scalar_one() == 4 + 50 + 1  # 3 of the 7 were the person's
    finally:
        await engine.dispose()


async def test_the_erasure_reads_only_the_facts_naming_the_person(postgres_server):
    """20,000 facts of one organisation: the look-up is bounded by the person's index
    rows, never by the organisation (all of its facts)."""
    engine = create_async_engine(postgres_server.create_database(), poolclass=NullPool)
    try:
        await upgrade(engine, "insights")
        p = str(uuid.uuid4())
        history = [
            fact(
                "SessionCompleted",
                {"relationship_id": str(uuid.uuid4()), "mentor_id": str(uuid.uuid4())},
            )
            for _ in range(20_000)
        ]
        async with engine.begin() as conn:
            for start in range(0, len(history), 2_000):
                await fact_log.record_many(history[start : start + 2_000], conn)
            await fact_log.record_many(naming(p, str(uuid.uuid4())), conn)
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE facts, fact_people"))
        # The statement the erasure sends to find the facts, as it sends it.
        with statements(engine) as sent:
            await _erase(engine, p)
        statement, parameters = next(
            s for s in sent if s[0].lstrip().startswith("SELECT")
        )
        plan = await _explain(engine, statement, parameters)
        assert "Seq Scan" not in plan, plan
        assert "fact_people_person" in plan, plan
    finally:
        await engine.dispose()


async def test_the_warnings_about_the_person_are_read_by_their_streams(
    postgres_server,
):
    """insights' own log of 20,000 health events: the erasure reads the streams of
    the person's relationships, not the log."""
    engine = create_async_engine(postgres_server.create_database(), poolclass=NullPool)
    try:
        await upgrade(engine, "insights")
        p, m, rel = (str(uuid.uuid4()) for _ in range(3))
        started = fact(
            "RelationshipStarted",
            {"relationship_id": rel, "mentor_id": m, "mentee_id": p},
        )
        insert = text(
            "INSERT INTO events (event_id, stream_id, stream_type, version, "
            "event_type, tenant, payload, metadata, event_time) VALUES "
            "(:i, :s, 'relationship_health', 1, 'EarlyWarningRaised', :t, "
            "CAST(:d AS jsonb), '{}', now())"
        )

        def warning(relationship: str, mentor: str, mentee: str) -> dict:
            data = {"relationship_id": relationship, "mentor_id": mentor}
            return {
                "i": str(uuid.uuid4()),
                "s": health.stream_of(TENANT, relationship),
                "t": TENANT,
                "d": json.dumps(data | {"mentee_id": mentee, "level": "amber"}),
            }

        async with engine.begin() as conn:
            await fact_log.record_many([started], conn)
            await conn.execute(
                insert,
                [
                    warning(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()))
                    for _ in range(20_000)
                ],
            )
            await conn.execute(insert, [warning(rel, m, p)])
            await conn.execute(text("ANALYZE events, facts, fact_people"))
        with statements(engine) as sent:
            async with engine.begin() as conn:
                await erasure.erase_warnings(conn, TENANT, p, ERASED_PREFIX + "1")
        async with engine.connect() as conn:
            left = await conn.execute(
                text("SELECT count(*) FROM events WHERE CAST(payload AS text) LIKE :l"),
                {"l": f"%{p}%"},
            )
            assert left.scalar_one() == 0
            kept = await conn.execute(
                text("SELECT count(*) FROM events WHERE CAST(payload AS text) LIKE :l"),
                {"l": f"%{m}%"},
            )
            assert kept.scalar_one() == 1  # the mentor's side stays
        reads = [s for s in sent if "FROM events" in s[0] and "SELECT" in s[0]]
        assert reads
        for statement, parameters in reads:
            plan = await _explain(engine, statement, parameters)
            assert "Seq Scan on events" not in plan, plan
    finally:
        await engine.dispose()


async def test_facts_kept_before_revision_0007_are_indexed_by_it(postgres_server):
    engine = create_async_engine(postgres_server.create_database(), poolclass=NullPool)
    try:
        await upgrade(engine, "insights", "0006")
        p, m = str(uuid.uuid4()), str(uuid.uuid4())
        # As the code before the revision kept them: top-level person fields only.
        async with engine.begin() as conn:
            for env in naming(p, m):
                await conn.execute(
                    text("INSERT INTO facts VALUES (:i, :t, 's', :k, :s, :at, :d)"),
                    {
                        "i": env.id,
                        "t": env.tenant,
                        "k": env.type,
                        "s": env.subject,
                        "at": env.time - timedelta(days=1),
                        "d": json.dumps(env.data, separators=(",", ":")),
                    },
                )
                for person in sorted(fact_log.people_in(env.data)):
                    await conn.execute(
                        text("INSERT INTO fact_people VALUES (:i, :p)"),
                        {"i": env.id, "p": person},
                    )
        await upgrade(engine, "insights")
        async with engine.connect() as conn:
            indexed = await conn.execute(
                text("SELECT count(*) FROM fact_people WHERE person_id = :p"), {"p": p}
            )
            assert indexed.scalar_one() == len(naming(p, m))
        pseudonym = await _erase(engine, p)
        await _check_erased(engine, p, m, pseudonym)
    finally:
        await engine.dispose()


async def test_an_id_of_another_shape_is_still_found_everywhere(postgres_server):
    """Tandem issues no such id, but an erasure of one still reads every fact."""
    engine = create_async_engine(postgres_server.create_database(), poolclass=NullPool)
    try:
        await upgrade(engine, "insights")
        p, m = "hr-0042", "hr-0043"
        async with engine.begin() as conn:
            await fact_log.record_many(naming(p, m), conn)
        pseudonym = await _erase(engine, p)
        await _check_erased(engine, p, m, pseudonym)
    finally:
        await engine.dispose()


async def test_a_starting_relationship_finds_its_pairing_s_end_by_the_index(
    postgres_server,
):
    """The consumer looks for the end of each pairing a batch starts: with 20,000
    ended pairings in the organisation it reads only its own, by the index."""
    engine = create_async_engine(postgres_server.create_database(), poolclass=NullPool)
    try:
        await upgrade(engine, "insights")
        ended = [
            fact("PairingEnded", {"pairing_id": str(uuid.uuid4()), "reason": "x"})
            for _ in range(20_000)
        ]
        async with engine.begin() as conn:
            for start in range(0, len(ended), 2_000):
                await fact_log.record_many(ended[start : start + 2_000], conn)
            await conn.execute(text("ANALYZE facts, fact_people"))
        mine = ended[7].data["pairing_id"]
        with statements(engine) as sent:
            async with engine.connect() as conn:
                found = await health._pairings_ended(conn, {(TENANT, mine)}, set())
        assert [data["pairing_id"] for _, data in found[(TENANT, mine)]] == [mine]
        [(statement, parameters)] = sent
        plan = await _explain(engine, statement, parameters)
        assert "Seq Scan" not in plan and "fact_people_person" in plan, plan
    finally:
        await engine.dispose()
