"""The sessions service's "at most N" rules under concurrent callers, on real
PostgreSQL: each race is run many times, every answer is a success or a typed
refusal, and the state afterwards never holds more than the rule allows.

- one booking of a person per slot (a per-person advisory lock, ``bookings.busy``);
- one contract version in force per relationship (the relationship's stream:
  unique (stream, version), a stale writer retries and decides again);
- one answer per person per pulse survey (primary key on the respondent's hash);
- one feedback per side per session (the feedback's stream, id derived from both).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from chassis.service import mounted
from services.sessions.application.relationships import Relationships
from tests.profiles.conftest import token
from tests.sessions.conftest import (
    CONTRACT,
    COORDINATOR,
    confirm_pairing,
    held_session,
    signed,
)

pytestmark = pytest.mark.kafka

ROUNDS = 12
TYPED = {200, 201, 204, 409, 422}


async def scalar(app, sql: str, **params) -> int:
    async with mounted(app).runtime.engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


def typed(responses) -> list[int]:
    """Status codes, after checking each refusal is a typed problem."""
    for r in responses:
        assert r.status_code in TYPED, r.text
        if r.status_code >= 400:
            assert r.json()["code"], r.text
    return [r.status_code for r in responses]


async def test_concurrent_bookings_of_one_slot_leave_one_booking(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap)
    await signed(c, pair)
    start = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=3)
    for n in range(ROUNDS):
        slot = start + timedelta(hours=2 * n)
        body = {
            "starts_at": slot.isoformat(),
            "minutes": 60,
            "outside_availability": True,
        }
        url = f"/relationships/{pair['id']}/sessions"
        # the pair and a coordinator, each twice, at the same moment; half of them
        # ask for a start 30 minutes later (overlapping the first hour)
        calls = [
            c.post(
                url,
                json=body
                | (
                    {"starts_at": (slot + timedelta(minutes=30)).isoformat()}
                    if i % 2
                    else {}
                ),
                headers=who,
            )
            for i, who in enumerate(
                [pair["as_mentee"], pair["as_mentor"], COORDINATOR] * 2
            )
        ]
        codes = typed(await asyncio.gather(*calls))
        assert codes.count(201) == 1, codes
        booked = await scalar(
            app,
            "SELECT count(*) FROM sessions WHERE relationship_id = :r "
            "AND state = 'scheduled' AND starts_at < :end AND ends_at > :start",
            r=pair["id"],
            start=slot,
            end=slot + timedelta(minutes=90),
        )
        assert booked == 1


async def test_concurrent_signatures_put_one_contract_version_in_force(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap)
    url = f"/relationships/{pair['id']}/contract"
    for n in range(ROUNDS):
        drafted = await c.put(
            url, json=CONTRACT | {"hours_per_month": n % 10}, headers=pair["as_mentee"]
        )
        assert drafted.status_code == 200, drafted.text
        version = drafted.json()["contract"]["version"]
        sign = {"version": version}
        calls = [
            c.post(f"{url}/signatures", json=sign, headers=pair[who])
            for who in ("as_mentee", "as_mentor") * 2
        ]
        # in half of the rounds the mentor proposes a change at the same moment
        if n % 2:
            calls.append(c.put(url, json=CONTRACT, headers=pair["as_mentor"]))
        typed(await asyncio.gather(*calls))

        in_force = await scalar(
            app,
            "SELECT count(*) FROM events WHERE stream_id = :r "
            "AND event_type = 'ContractInForce' AND (payload->>'version')::int = :v",
            r=pair["id"],
            v=version,
        )
        assert in_force <= 1
        rel = await mounted(app).provide(Relationships).repo.get(pair["id"], "acme")
        assert rel.contract_in_force == (rel.signed_by == set(rel.parties))
        if rel.contract.version == version:  # no change came in between
            assert in_force == 1 and rel.contract_in_force
        seen = (await c.get(f"/relationships/{pair['id']}", headers=COORDINATOR)).json()
        assert seen["contract"]["version"] == rel.contract.version
        assert seen["contract"]["in_force"] == rel.contract_in_force
    # every version was put in force at most once, across the whole history
    per_version = await scalar(
        app,
        "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM events "
        "WHERE stream_id = :r AND event_type = 'ContractInForce' "
        "GROUP BY payload->>'version') AS counts",
        r=pair["id"],
    )
    assert per_version == 1


async def test_concurrent_answers_of_one_person_count_once(sessions):
    app, c = sessions
    person = token("acme", "mentee", sub=str(uuid.uuid4()))
    closes_at = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    for _ in range(ROUNDS):
        opened = await c.post(
            "/pulse-surveys",
            json={"questions": ["I get enough time"], "closes_at": closes_at},
            headers=COORDINATOR,
        )
        assert opened.status_code == 201, opened.text
        sid = opened.json()["survey_id"]
        answers = [
            c.post(
                f"/pulse-surveys/{sid}/responses",
                json={"answers": [1 + i % 5]},
                headers=person,
            )
            for i in range(5)
        ]
        codes = typed(await asyncio.gather(*answers))
        assert codes.count(204) == 1, codes
        for refused in (r for r in codes if r != 204):
            assert refused == 409
        stored = await scalar(
            app,
            "SELECT sum(tally) FROM pulse_tallies WHERE survey_id = :s",
            s=sid,
        )
        respondents = await scalar(
            app, "SELECT count(*) FROM pulse_respondents WHERE survey_id = :s", s=sid
        )
        assert (stored, respondents) == (1, 1)


async def test_concurrent_feedback_of_one_side_on_a_session_counts_once(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap, days_ago=1)
    await signed(c, pair)
    for n in range(ROUNDS // 2):
        session_id = await held_session(c, pair, hours_ago=2 * n + 2)
        body = {"about": "session", "subject_id": session_id, "rating": 4}
        url = f"/relationships/{pair['id']}/feedback"
        codes = typed(
            await asyncio.gather(
                *[c.post(url, json=body, headers=pair["as_mentee"]) for _ in range(4)]
            )
        )
        assert codes.count(201) == 1, codes
        given = await scalar(
            app,
            "SELECT count(*) FROM events WHERE event_type = 'FeedbackGiven' "
            "AND payload->>'subject_id' = :s",
            s=session_id,
        )
        assert given == 1
