"""Erasure in insights, tried as a database reader and a late event would try it.

A mentee with facts in every read model is erased; then no table holds their id or
any free text, events about them that arrive later (with earlier times, from other
partitions) re-create nothing, a rebuild gives the same forgotten state, and the
figures count them as no one while their mentor keeps what the pair did.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.migrations.runner import upgrade
from chassis.service import mounted
from services.insights.projections import erasure
from tests.insights.conftest import (
    ADMIN,
    COORDINATOR,
    TENANT,
    event,
    publish,
    until_facts,
)
from tests.insights.test_scorecards_api import read_models, rebuilt
from tests.profiles.conftest import token
from tests.support.waiting import until

FREE = "FREETEXT"  # every personal free-text value below contains it


def story(p: str, m: str, tag: str) -> list:
    """Mentor ``m`` and mentee ``p`` in a cohort, paired, meeting, writing, rating."""
    now = utcnow()
    t = [now - timedelta(days=40 - i) for i in range(40)]
    rel, pair, cohort = f"rel-{tag}", f"pair-{tag}", f"cohort-{tag}"
    person = {
        "level": 5,
        "business_unit": "Retail",
        "function": "finance",
        "geography": "FR",
        "time_zone": "Europe/Paris",
    }
    return [
        event("profiles", "PersonRegistered", p, {"person_id": p, **person}, at=t[0]),
        event("profiles", "PersonRegistered", m, {"person_id": m, **person}, at=t[0]),
        event(
            "profiles",
            "DemographicsShared",
            p,
            {"person_id": p, "attributes": {"gender": f"g-{tag}"}},
            at=t[1],
        ),
        event(
            "profiles",
            "IntakeSubmitted",
            p,
            {
                "person_id": p,
                "goals": [{"competency_id": "c1", "current": 2, "target": 4}],
                "hours_per_month": 4,
                "learning_style": f"{FREE} visual {tag}",
                "experiences_lacking": [f"{FREE} board work {tag}"],
            },
            at=t[2],
        ),
        event(
            "profiles",
            "MentorProfileSet",
            m,
            {
                "person_id": m,
                "strengths": [],
                "industries": [f"{FREE} shipping {tag}"],
                "leadership_style": f"{FREE} socratic {tag}",
                "max_mentees": 2,
                "hours_per_month": 8,
            },
            at=t[2],
        ),
        event(
            "profiles",
            "ParticipantAdmitted",
            p,
            {"cohort_id": cohort, "person_id": p, "role": "mentee"},
            at=t[3],
        ),
        event(
            "matching",
            "PairingConfirmed",
            pair,
            {
                "pairing_id": pair,
                "mentor_id": m,
                "mentee_id": p,
                "cohort_id": cohort,
                "programme_type": "standard",
            },
            at=t[4],
        ),
        event(
            "sessions",
            "RelationshipStarted",
            rel,
            {
                "relationship_id": rel,
                "pairing_id": pair,
                "mentor_id": m,
                "mentee_id": p,
                "cohort_id": cohort,
                "kind": "standard",
                "starts_on": t[5].date().isoformat(),
                "planned_end_on": (now + timedelta(days=200)).date().isoformat(),
            },
            at=t[5],
        ),
        event(
            "sessions",
            "SessionHeld",
            f"s-{tag}",
            {
                "session_id": f"s-{tag}",
                "relationship_id": rel,
                "held_at": t[10].isoformat(),
                "minutes": 60,
                "recorded_by": p,
            },
            at=t[10],
        ),
        event(
            "sessions",
            "NoteWritten",
            f"n-{tag}",
            {
                "note_id": f"n-{tag}",
                "relationship_id": rel,
                "author_id": p,
                "kind": "journal",
                "visibility": "private",
            },
            at=t[11],
        ),
        event(
            "sessions",
            "FeedbackGiven",
            f"fb-{tag}",
            {
                "feedback_id": f"fb-{tag}",
                "relationship_id": rel,
                "from_role": "mentee",
                "about": "session",
                "subject_id": f"s-{tag}",
                "rating": 4,
            },
            at=t[12],
        ),
        event(
            "sessions",
            "EscalationRaised",
            f"esc-{tag}",
            {
                "escalation_id": f"esc-{tag}",
                "relationship_id": rel,
                "by_role": "mentee",
                "category": "other",
            },
            at=t[13],
        ),
    ]


async def dump(app) -> str:
    """Every row of every table of the database, as one text."""
    out = []
    async with app.state.runtime.engine.connect() as conn:
        tables = [
            r[0]
            for r in await conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
        ]
        for table in tables:
            rows = await conn.execute(text(f'SELECT * FROM "{table}"'))
            out += [f"{table}: {tuple(row)}" for row in rows]
    return "\n".join(out)


async def park(app, ident: str, value: dict) -> None:
    """A message parked in the dead letters (as the consumer parks one)."""
    async with app.state.runtime.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO dead_letters (id, consumer, topic, partition_no, "
                "offset_no, event_id, event_type, error, attempts, headers, value) "
                "VALUES (:i, 'c', 'tandem.profiles.v1', 0, 0, :i, 'X', 'e', 3, "
                "'[]', :v)"
            ),
            {"i": f"{ident}-{uuid.uuid4().hex}", "v": json.dumps(value)},
        )


async def equity_row(app, person: str):
    async with app.state.runtime.engine.connect() as conn:
        found = (
            await conn.execute(
                text(
                    "SELECT data FROM equity_people WHERE tenant = :t AND person_id = :p"
                ),
                {"t": TENANT, "p": person},
            )
        ).scalar_one_or_none()
    return json.loads(found) if found else None


@pytest.mark.kafka
@pytest.mark.parametrize("ids", ["uuids", "other"])
async def test_an_erased_mentee_leaves_no_trace_and_is_never_learnt_again(
    insights, kafka_bootstrap, ids
):
    """With ids as Tandem issues them (UUIDs: the erasure reads the facts and the
    warnings naming them by index), and of another shape (read through)."""
    app, client = insights
    tag = uuid.uuid4().hex[:8]
    p, m = f"mentee-{tag}", f"mentor-{tag}"
    if ids == "uuids":
        p, m = str(uuid.uuid4()), str(uuid.uuid4())
    messages = story(p, m, tag)
    await publish(kafka_bootstrap, messages)
    await until_facts(app, len(messages))

    await park(app, "own", {"person_id": p, "reason": f"{FREE} {tag}"})
    await park(app, "theirs", {"pairing_id": "x", "mentor_id": m, "mentee_id": p})
    before = await dump(app)
    assert p in before and m in before  # every read model knows them
    stores = {line.split(":")[0] for line in before.splitlines() if p in line}
    assert {"facts", "equity_people", "relationship_health", "events"} <= stores
    assert {"fact_people", "dead_letters"} <= stores
    # No personal free text is kept, even before erasure (a parked message is kept
    # as it came, for its replay, until its person is erased).
    kept = [line for line in before.splitlines() if not line.startswith("dead_")]
    assert FREE not in "\n".join(kept)
    assert (await equity_row(app, p))["demographics"] == {"gender": f"g-{tag}"}
    health = await client.get(f"/relationships/rel-{tag}/health", headers=ADMIN)
    assert health.json()["mentee_id"] == p

    erased_at = utcnow()
    await publish(
        kafka_bootstrap,
        [
            event(
                "profiles",
                "PersonErased",
                p,
                {"person_id": p, "erased_at": erased_at.isoformat()},
            )
        ],
    )
    # Late arrivals from other partitions, stamped before the erasure.
    early = erased_at - timedelta(days=2)
    late = [
        event(
            "profiles",
            "ParticipantWithdrew",
            p,
            {"cohort_id": f"cohort-{tag}", "person_id": p, "reason": f"{FREE} {tag}"},
            at=early,
        ),
        event(
            "sessions",
            "RelationshipStarted",
            f"rel2-{tag}",
            {
                "relationship_id": f"rel2-{tag}",
                "pairing_id": f"pair2-{tag}",
                "mentor_id": m,
                "mentee_id": p,
                "cohort_id": f"cohort-{tag}",
                "kind": "standard",
                "starts_on": early.date().isoformat(),
                "planned_end_on": (erased_at + timedelta(days=90)).date().isoformat(),
            },
            at=early,
        ),
        event(
            "sessions",
            "NoteWritten",
            f"n2-{tag}",
            {
                "note_id": f"n2-{tag}",
                "relationship_id": f"rel-{tag}",
                "author_id": p,
                "kind": "journal",
                "visibility": "private",
            },
            at=early,
        ),
        event(
            "matching",
            "PairingConfirmed",
            f"pair2-{tag}",
            {
                "pairing_id": f"pair2-{tag}",
                "mentor_id": m,
                "mentee_id": p,
                "cohort_id": f"cohort-{tag}",
            },
            at=early,
        ),
    ]
    await publish(kafka_bootstrap, late)
    await until_facts(app, 1)

    after = await dump(app)
    assert p not in after and f"g-{tag}" not in after and FREE not in after
    assert await equity_row(app, p) is None
    async with app.state.runtime.engine.connect() as conn:
        parked = [
            json.loads(v)
            for (v,) in await conn.execute(
                text("SELECT value FROM dead_letters WHERE value LIKE :m"),
                {"m": f"%{m}%"},
            )
        ]
    assert [v["mentee_id"][:7] for v in parked] == ["erased-"]  # own one dropped
    # The mentor keeps the pairings they mentored (the late one too), under the
    # pseudonym; the mentee's own facts (and the late ones) are gone.
    mentor = await equity_row(app, m)
    pseudonym = mentor["mentoring"][f"pair-{tag}"]
    assert pseudonym.startswith("erased-")
    assert mentor["mentoring"] == {f"pair-{tag}": pseudonym, f"pair2-{tag}": pseudonym}
    async with app.state.runtime.engine.connect() as conn:
        kinds = [
            r[0]
            for r in await conn.execute(
                text(
                    "SELECT type FROM facts WHERE tenant = :t AND data LIKE :x "
                    "ORDER BY type"
                ),
                {"t": TENANT, "x": f"%{pseudonym}%"},
            )
        ]
        health = {
            r.relationship_id: (r.mentor_id, r.mentee_id)
            for r in await conn.execute(
                text(
                    "SELECT relationship_id, mentor_id, mentee_id "
                    "FROM relationship_health WHERE tenant = :t AND mentor_id = :m"
                ),
                {"t": TENANT, "m": m},
            )
        }
    assert kinds == [  # no note, withdrawal, intake, demographics or registration
        "PairingConfirmed",
        "PairingConfirmed",
        "RelationshipStarted",
        "RelationshipStarted",
        "SessionHeld",
    ]
    assert health == {
        f"rel-{tag}": (m, pseudonym),
        f"rel2-{tag}": (m, pseudonym),
    }

    # Figures count them as no one: not a participant, not a mentee.
    programme = (await client.get("/scorecards/programme", headers=ADMIN)).text
    assert p not in programme and pseudonym not in programme

    # The confirmation, for the profiles erasure report (the tenant's admins only).
    confirmation = await client.get(f"/admin/erasures/{p}", headers=ADMIN)
    assert confirmation.status_code == 200, confirmation.text
    body = confirmation.json()
    assert body["person_id"] == p and body["service"] == "insights"
    assert body["confirmed_at"] >= erased_at.isoformat()[:19]
    assert {"facts", "equity_people", "relationship_health", "events"} <= set(
        body["stores"]
    )
    assert (
        await client.get(f"/admin/erasures/{p}", headers=COORDINATOR)
    ).status_code == 403
    other_admin = token(f"other-{tag}", "admin", sub="admin-x")
    assert (
        await client.get(f"/admin/erasures/{p}", headers=other_admin)
    ).status_code == 404
    assert (await client.get(f"/admin/erasures/{m}", headers=ADMIN)).status_code == 404

    # A rebuild from the facts gives the same forgotten state.
    models = await read_models(app)
    assert (await rebuilt(client, ADMIN))["status"] == "done"
    assert await read_models(app) == models
    assert p not in await dump(app)


@pytest.fixture
def quiet_app(prepared_app):
    return prepared_app


async def test_every_table_has_an_eraser_or_a_reason(quiet_app):
    async with quiet_app.state.runtime.engine.connect() as conn:
        tables = {
            r[0]
            for r in await conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
        }
    stores = mounted(quiet_app).provide(erasure.Erasures).stores
    assert set(stores) == tables
    for table, eraser in stores.items():
        assert callable(eraser) or (isinstance(eraser, str) and eraser), table


def test_no_personal_free_text_of_any_contract_is_kept():
    for kind in erasure.CONTRACTS.event_types:
        fields = erasure.CONTRACTS.model(kind).personal_fields
        if not fields:
            continue
        env = Envelope(
            id="e",
            source="tandem/x",
            type=kind,
            subject="s",
            time=utcnow(),
            data={f: f"{FREE}" for f in fields} | {"person_id": "p"},
            tenant="t",
        )
        kept = set(erasure.strip(env).data) - {"person_id"}
        assert kept == set(erasure.KEPT.get(kind, ())), kind


async def test_facts_kept_before_the_upgrade_lose_their_free_text(postgres_server):
    engine = create_async_engine(postgres_server.create_database(), poolclass=NullPool)
    try:
        await upgrade(engine, "insights", "0001")
        intake = {
            "person_id": "p",
            "learning_style": FREE,
            "experiences_lacking": [FREE],
        }
        mentor = {"person_id": "m", "max_mentees": 2, "leadership_style": FREE}
        async with engine.begin() as conn:
            for n, (kind, data) in enumerate(
                [("IntakeSubmitted", intake), ("MentorProfileSet", mentor)]
            ):
                await conn.execute(
                    text("INSERT INTO facts VALUES (:i, 't', 's', :k, 'x', now(), :d)"),
                    {"i": f"e{n}", "k": kind, "d": json.dumps(data)},
                )
            for person, row in (
                ("p", {"person_id": "p", "learning_style": FREE}),
                ("m", {"person_id": "m", "leadership_style": FREE}),
            ):
                await conn.execute(
                    text("INSERT INTO equity_people VALUES ('t', :p, :d)"),
                    {"p": person, "d": json.dumps(row)},
                )
        await upgrade(engine, "insights")
        async with engine.connect() as conn:
            facts = dict(
                (await conn.execute(text("SELECT type, data FROM facts"))).all()
            )
            rows = dict(
                (
                    await conn.execute(
                        text("SELECT person_id, data FROM equity_people")
                    )
                ).all()
            )
        assert FREE not in str(facts) and FREE not in str(rows)
        assert json.loads(facts["MentorProfileSet"])["max_mentees"] == 2
        assert json.loads(rows["p"]) == {"person_id": "p", "learning_style": None}
        assert json.loads(rows["m"]) == {"person_id": "m"}
    finally:
        await engine.dispose()


def envelope(kind: str, data: dict, source: str = "profiles") -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        source=f"tandem/{source}",
        type=kind,
        subject="s",
        time=utcnow() - timedelta(days=3),
        data=data,
        tenant="race",
    )


async def test_an_event_racing_the_erasure_waits_for_it_and_is_ignored(quiet_app):
    """Another replica applies a late event while the erasure is uncommitted."""
    on_event = quiet_app.state.runtime.consumer.fallback
    engine = quiet_app.state.runtime.engine
    mentor = f"m-{uuid.uuid4().hex[:6]}"
    people = [f"p-{uuid.uuid4().hex[:6]}" for _ in range(3)]
    for n, person in enumerate(people):
        registered = {"person_id": person, "level": 3, "business_unit": "R"}
        async with engine.begin() as conn:
            await on_event(envelope("PersonRegistered", registered), conn)
        async with engine.connect() as erasing:
            await erasing.begin()
            erased = {"person_id": person, "erased_at": utcnow().isoformat()}
            await on_event(envelope("PersonErased", erased), erasing)

            async def late(person: str = person, pairing: str = f"x{n}") -> None:
                withdrew = {"cohort_id": "c", "person_id": person, "reason": FREE}
                paired = {
                    "pairing_id": pairing,
                    "mentor_id": mentor,
                    "mentee_id": person,
                }
                async with engine.begin() as conn:
                    await on_event(envelope("ParticipantWithdrew", withdrew), conn)
                    await on_event(
                        envelope("PairingConfirmed", paired, "matching"), conn
                    )

            racing = asyncio.create_task(late())
            await until_waiting_on_a_lock(engine)
            await erasing.commit()
            await racing
    everything = await dump(quiet_app)
    assert not any(p in everything for p in people) and FREE not in everything
    assert all([await equity_row_in(quiet_app, "race", p) is None for p in people])
    mentoring = (await equity_row_in(quiet_app, "race", mentor))["mentoring"]
    assert sorted(mentoring) == ["x0", "x1", "x2"]
    assert all(m.startswith("erased-") for m in mentoring.values())


async def until_waiting_on_a_lock(engine, timeout_s: float = 10) -> None:
    async def waiting() -> bool:
        async with engine.connect() as conn:
            return bool(
                await conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type "
                        "= 'Lock' AND datname = current_database()"
                    )
                )
            )

    await until(
        waiting, "the racing event to wait for the erasure", timeout_s, interval_s=0.01
    )


async def equity_row_in(app, tenant: str, person: str):
    async with app.state.runtime.engine.connect() as conn:
        found = (
            await conn.execute(
                text(
                    "SELECT data FROM equity_people WHERE tenant = :t AND person_id = :p"
                ),
                {"t": tenant, "p": person},
            )
        ).scalar_one_or_none()
    return json.loads(found) if found else None


async def test_a_batch_is_screened_against_each_tenant_s_own_erasures(quiet_app):
    """One batch, two tenants, the same id in both: only the tenant that erased the
    person forgets them (their own event dropped, the others' pseudonymised, a key
    or a nested value alike); the other tenant keeps its facts as they came."""
    runtime = quiet_app.state.runtime
    apply_many = runtime.consumer.batch_handler
    person, mentor = f"p-{uuid.uuid4().hex[:6]}", f"m-{uuid.uuid4().hex[:6]}"
    tag = uuid.uuid4().hex[:6]
    erasing, keeping = f"erasing-{tag}", f"keeping-{tag}"

    def of(tenant: str, kind: str, data: dict, source: str = "profiles") -> Envelope:
        return Envelope(
            id=str(uuid.uuid4()),
            source=f"tandem/{source}",
            type=kind,
            subject=person if kind.startswith("Person") else "s",
            time=utcnow(),
            data=data,
            tenant=tenant,
        )

    async with runtime.engine.begin() as conn:
        await apply_many([of(erasing, "PersonErased", {"person_id": person})], conn)
    batch = [
        event
        for tenant in (erasing, keeping)
        for event in (
            of(tenant, "PersonRegistered", {"person_id": person, "level": 3}),
            of(
                tenant,
                "PairingConfirmed",
                {"pairing_id": f"x-{tenant}", "mentor_id": mentor, "mentee_id": person},
                "matching",
            ),
            of(
                tenant,
                "PairingProposed",
                {
                    "pairing_id": f"y-{tenant}",
                    "mentor_id": mentor,
                    "mentee_id": "someone",
                    "parts": [{person: ["nested", {"with": person}]}],
                },
                "matching",
            ),
        )
    ]
    async with runtime.engine.begin() as conn:
        await apply_many(batch, conn)
    async with runtime.engine.connect() as conn:
        kept = {
            (tenant, kind): (subject, json.loads(data))
            for tenant, kind, subject, data in await conn.execute(
                text(
                    "SELECT tenant, type, subject, data FROM facts "
                    "WHERE tenant IN (:a, :b)"
                ),
                {"a": erasing, "b": keeping},
            )
        }
    # The erased person's own registration is not kept; the pair's facts are, under
    # the pseudonym, everywhere the id was.
    assert (erasing, "PersonRegistered") not in kept
    pseudonymised = json.dumps(
        [kept[(erasing, "PairingConfirmed")], kept[(erasing, "PairingProposed")]]
    )
    assert person not in pseudonymised and "erased-" in pseudonymised
    # The other tenant's facts name the person as they came.
    assert kept[(keeping, "PersonRegistered")][1]["person_id"] == person
    assert kept[(keeping, "PairingConfirmed")][1]["mentee_id"] == person
    assert kept[(keeping, "PersonRegistered")][0] == person
    assert kept[(keeping, "PairingProposed")][1]["parts"] == [
        {person: ["nested", {"with": person}]}
    ]
