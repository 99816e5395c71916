"""Anonymous pulse surveys from the side of someone who reads every table.

The attacker holds a dump of the whole sessions database (every table, with the
system columns ``xmin`` and ``ctid``) and the tenant's list of person ids. They must
not be able to say who answered what: no row holds a person with an answer, the
ledger of who answered cannot be recomputed from anything stored, and the counters
look the same whoever gave which rating. The one-answer-per-person rule still holds
under concurrent answers, and k is never below the organisation's.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from chassis.migrations import upgrade
from chassis.service import mounted
from services.sessions.application.pulse import PulseSurveys
from services.sessions.domain.notes import Tally
from services.sessions.main import build_app
from services.sessions.settings import DEV_PULSE_KEY, Settings
from tests.profiles.conftest import token

COORDINATOR = token("acme", "coordinator")
CLOSES_AT = (datetime.now(UTC) + timedelta(days=7)).isoformat()
QUESTIONS = ["I get enough time with my mentor", "I would recommend it"]
# Six people, six different answer pairs: any attribution would be visible.
ANSWERS = [[1, 2], [2, 4], [3, 1], [4, 5], [5, 3], [1, 5]]
ROUNDS = 10


@pytest.fixture
async def pulse(postgres_server):
    """The sessions service on its own PostgreSQL database (in-process bus)."""
    settings = Settings(
        environment="test",
        database_url=postgres_server.create_database(),
        kafka_bootstrap_servers=None,
        k_anonymity=5,
    )
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sessions"
        ) as c:
            yield app, c


async def open_survey(c: httpx.AsyncClient, **extra) -> dict:
    opened = await c.post(
        "/pulse-surveys",
        json={"questions": QUESTIONS, "closes_at": CLOSES_AT, **extra},
        headers=COORDINATOR,
    )
    assert opened.status_code == 201, opened.text
    return opened.json()


async def answer(c: httpx.AsyncClient, sid: str, person: str, answers: list[int]):
    return await c.post(
        f"/pulse-surveys/{sid}/responses",
        json={"answers": answers},
        headers=token("acme", "mentee", sub=person),
    )


async def dump(app) -> dict[str, list[dict]]:
    """Every row of every table of the service's schema, with xmin and ctid."""
    async with mounted(app).runtime.engine.connect() as conn:
        tables = (
            await conn.execute(
                text(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = current_schema() "
                    "AND table_type = 'BASE TABLE'"
                )
            )
        ).scalars()
        out = {}
        for table in list(tables):
            rows = await conn.execute(
                text(
                    f'SELECT xmin::text AS "xmin", ctid::text AS "ctid", * FROM "{table}"'
                )
            )
            out[table] = [dict(r._mapping) for r in rows]
        return out


async def columns(app, table: str) -> dict[str, str | None]:
    async with mounted(app).runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT column_name, data_type, column_default "
                "FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = :t"
            ),
            {"t": table},
        )
        return {r.column_name: (r.data_type, r.column_default) for r in rows}


def counters(rows: list[dict], sid: str) -> list[tuple[int, int, int]]:
    return sorted(
        (r["question"], r["rating"], r["tally"]) for r in rows if r["survey_id"] == sid
    )


async def test_a_reader_of_every_table_cannot_attribute_any_answer(pulse):
    app, c = pulse
    people = [str(uuid.uuid4()) for _ in ANSWERS]
    # The same six people answer two surveys; in the second each one gives another
    # person's answers. What a reader sees of the two surveys must be the same.
    first = (await open_survey(c))["survey_id"]
    second = (await open_survey(c))["survey_id"]
    for person, given in zip(people, ANSWERS, strict=True):
        assert (await answer(c, first, person, given)).status_code == 204
    for person, given in zip(people, ANSWERS[::-1], strict=True):
        assert (await answer(c, second, person, given)).status_code == 204

    tables = await dump(app)
    everything = repr(tables)
    # No person id is stored anywhere, in any table or event.
    assert not any(person in everything for person in people)
    # Per-respondent rows exist only in the ledger, which holds no answer; the
    # answers exist only as counters; nothing else mentions the survey but its
    # own row and its opening event.
    mentions = {
        table: n
        for table, rows in tables.items()
        if (n := sum(1 for r in rows if first in repr(r)))
    }
    assert mentions == {
        "pulse_surveys": 1,
        "pulse_respondents": len(people),
        "pulse_tallies": len(QUESTIONS) * 5,
        "events": 1,
    }
    assert set(await columns(app, "pulse_respondents")) == {
        "survey_id",
        "respondent_key",
    }
    tally_columns = await columns(app, "pulse_tallies")
    assert set(tally_columns) == {"survey_id", "tenant", "question", "rating", "tally"}
    # no time, no sequence: nothing orders the counters or the ledger
    for table in ("pulse_respondents", "pulse_tallies"):
        for name, (kind, default) in (await columns(app, table)).items():
            assert "time" not in kind and "date" not in kind, (table, name)
            assert default is None or "nextval" not in default, (table, name)
    assert "salt" not in await columns(app, "pulse_surveys")

    # Leak 4 as it was: hash each person with any value stored with the survey.
    ledger = {r["respondent_key"] for r in tables["pulse_respondents"]}
    stored = {str(v) for r in tables["pulse_surveys"] for v in r.values()}
    for person, value in itertools.product(people, stored | {first, second, "acme"}):
        for guess in (
            hashlib.sha256(f"{value}:{person}".encode()).hexdigest(),
            hashlib.sha256(f"{person}:{value}".encode()).hexdigest(),
            hmac.new(value.encode(), person.encode(), hashlib.sha256).hexdigest(),
        ):
            assert guess not in ledger
    # A person's two ledger rows do not even look alike across surveys.
    assert len(ledger) == 2 * len(people)

    # The counters: the two surveys are indistinguishable although every person
    # answered them differently, so any attribution is a guess.
    tallies = tables["pulse_tallies"]
    assert counters(tallies, first) == counters(tallies, second)
    for sid in (first, second):
        rows = [r for r in tallies if r["survey_id"] == sid]
        # every answer rewrote every counter: one xmin for all of them, the last
        # answer's, whatever rating it gave
        assert len({r["xmin"] for r in rows}) == 1
        ledger_xmins = [
            r["xmin"] for r in tables["pulse_respondents"] if r["survey_id"] == sid
        ]
        assert len(set(ledger_xmins)) == len(people)
        assert sum(x == rows[0]["xmin"] for x in ledger_xmins) == 1

    # Once closed, the figures are the same counts, attributed to no one.
    for sid in (first, second):
        assert (
            await c.post(f"/pulse-surveys/{sid}/close", headers=COORDINATOR)
        ).status_code == 204
    results = [
        (await c.get(f"/pulse-surveys/{sid}/results", headers=COORDINATOR)).json()
        for sid in (first, second)
    ]
    assert results[0]["respondents"] == results[1]["respondents"] == len(people)
    assert results[0]["questions"] == results[1]["questions"]
    assert results[0]["questions"][1]["distribution"] == {
        "1": 1,
        "2": 1,
        "3": 1,
        "4": 1,
        "5": 2,
    }


async def test_concurrent_answers_count_once_per_person(pulse):
    app, c = pulse
    for _ in range(ROUNDS):
        sid = (await open_survey(c, k=5))["survey_id"]
        people = [str(uuid.uuid4()) for _ in range(3)]
        # each person sends three answers at once, all people at the same time
        attempts = [
            answer(c, sid, person, ANSWERS[(i + j) % len(ANSWERS)])
            for i, person in enumerate(people)
            for j in range(3)
        ]
        codes = sorted(r.status_code for r in await asyncio.gather(*attempts))
        assert codes == [204] * 3 + [409] * 6, codes
        async with mounted(app).runtime.engine.connect() as conn:
            ledger = await conn.scalar(
                text("SELECT count(*) FROM pulse_respondents WHERE survey_id = :s"),
                {"s": sid},
            )
            per_question = (
                await conn.execute(
                    text(
                        "SELECT question, sum(tally) FROM pulse_tallies "
                        "WHERE survey_id = :s GROUP BY question"
                    ),
                    {"s": sid},
                )
            ).all()
        assert ledger == 3
        assert sorted(per_question) == [(0, 3), (1, 3)]


async def test_k_is_never_below_the_organisations(pulse):
    _app, c = pulse
    assert (await open_survey(c))["k"] == 5
    assert (await open_survey(c, k=3))["k"] == 5  # asked lower: raised to the floor
    raised = await open_survey(c, k=7)
    assert raised["k"] == 7
    sid = raised["survey_id"]
    assert (await c.get(f"/pulse-surveys/{sid}", headers=COORDINATOR)).json()["k"] == 7
    # five answered a survey whose k is 7: closed, and still nothing is shown
    for given in ANSWERS[:5]:
        assert (await answer(c, sid, str(uuid.uuid4()), given)).status_code == 204
    await c.post(f"/pulse-surveys/{sid}/close", headers=COORDINATOR)
    body = (await c.get(f"/pulse-surveys/{sid}/results", headers=COORDINATOR)).json()
    assert body["suppressed"] is True and "questions" not in body
    assert body["respondents"] == "<7"


async def test_erasure_forgets_that_they_answered_but_not_the_count(pulse):
    app, c = pulse
    sid = (await open_survey(c))["survey_id"]
    people = [str(uuid.uuid4()) for _ in ANSWERS]
    for person, given in zip(people, ANSWERS, strict=True):
        assert (await answer(c, sid, person, given)).status_code == 204
    surveys = mounted(app).provide(PulseSurveys)
    async with mounted(app).runtime.engine.begin() as conn:
        await surveys.on_person_erased("acme", people[0], conn)
    async with mounted(app).runtime.engine.connect() as conn:
        ledger = await conn.scalar(
            text("SELECT count(*) FROM pulse_respondents WHERE survey_id = :s"),
            {"s": sid},
        )
    assert ledger == len(people) - 1
    await c.post(f"/pulse-surveys/{sid}/close", headers=COORDINATOR)
    body = (await c.get(f"/pulse-surveys/{sid}/results", headers=COORDINATOR)).json()
    assert body["respondents"] == len(people)


def test_production_refuses_the_development_pulse_key():
    secrets = {"jwt_secret": "a-real-secret-of-at-least-32-bytes!!"}
    with pytest.raises(ValidationError, match="SESSIONS_PULSE_KEY"):
        Settings(environment="production", **secrets)
    assert Settings(
        environment="production",
        sessions_pulse_key="k" * 44,
        sessions_master_key="A" * 43 + "=",  # 32 bytes, base64: also required there
        **secrets,
    )
    assert Settings(environment="test").pulse_key == DEV_PULSE_KEY.encode()


async def test_the_upgrade_folds_stored_answers_into_counters(postgres_server):
    engine = create_async_engine(postgres_server.create_database(), poolclass=NullPool)
    try:
        await upgrade(engine, "sessions", "0001")
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO pulse_surveys (survey_id, tenant, questions, "
                    "closes_at, k, salt) VALUES ('s', 'acme', :q, :at, 5, 'salty')"
                ),
                {"q": json.dumps(QUESTIONS), "at": CLOSES_AT},
            )
            await conn.execute(
                text(
                    "INSERT INTO pulse_answers (answer_id, survey_id, answers) "
                    "VALUES (:i, 's', :a)"
                ),
                [{"i": str(i), "a": json.dumps(a)} for i, a in enumerate(ANSWERS)],
            )
        await upgrade(engine, "sessions")
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT question, rating, tally FROM pulse_tallies")
                )
            ).all()
            left = await conn.scalar(
                text(
                    "SELECT count(*) FROM information_schema.columns WHERE "
                    "table_schema = current_schema() AND column_name = 'salt'"
                )
            )
        expected = Tally.of(ANSWERS, questions=len(QUESTIONS)).counts
        assert sorted(tuple(r) for r in rows) == [
            (q, r + 1, expected[q][r]) for q in range(len(QUESTIONS)) for r in range(5)
        ]
        assert left == 0
    finally:
        await engine.dispose()
