"""Faults survived, with real processes: a broker killed, services killed -9, the
database restarted, a poison event, all under a steady stream of commands.

profiles (the writer) and insights (the consumer that projects every event) run as
their own uvicorn processes (``conftest.Fleet``). Each test prints one line of figures
(``stream.Figures``) and asserts that nothing accepted was lost and nothing was
doubled: every accepted registration reaches insights exactly once.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from chassis.auth import Role
from chassis.messaging import dead_letter_topic
from tests.faults.conftest import Databases, Fleet
from tests.faults.stream import (
    INSIGHTS_FACTS,
    Figures,
    Stream,
    bearer,
    counts,
    figures,
    person,
    published,
)
from tests.support.waiting import until

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def new_tenant() -> str:
    return f"faults-{uuid.uuid4().hex[:8]}"


def assert_nothing_lost_or_doubled(result: Figures) -> None:
    assert result.accepted > 0
    assert result.lost == 0, result
    assert result.duplicates == 0, result
    assert result.half_applied == 0, result
    assert result.projected == result.accepted, result


async def count(fleet: Fleet, databases: Databases, stream: Stream) -> Figures:
    return await figures(
        stream,
        insights_db=databases.insights,
        profiles_db=databases.profiles,
        kafka_bootstrap=fleet.kafka_bootstrap,
    )


async def test_every_accepted_command_reaches_insights_once_across_a_broker_crash(
    running: Fleet, databases: Databases, client: httpx.AsyncClient, kafka_broker: Any
) -> None:
    stream = Stream(client, running.profiles.url, new_tenant())

    async def broker_crash() -> None:
        await asyncio.to_thread(kafka_broker.kill)
        written = stream.sent + 30  # commands keep coming while the broker is away
        await stream.until(lambda: stream.sent >= written)
        await asyncio.to_thread(kafka_broker.start)

    await stream.around(broker_crash, before=40, after=40)
    result = await count(running, databases, stream)
    print(result.line("kafka broker killed -9 and restarted"))

    assert result.accepted == result.sent  # writes never needed the broker
    assert_nothing_lost_or_doubled(result)


async def test_nothing_lost_or_doubled_when_the_consumer_and_the_relay_are_killed(
    running: Fleet, databases: Databases, client: httpx.AsyncClient
) -> None:
    stream = Stream(client, running.profiles.url, new_tenant())

    async def crashes() -> None:
        # The consumer dies; a backlog builds up; it restarts and dies again while
        # working through that backlog (mid-batch); then it restarts for good.
        await asyncio.to_thread(running.insights.kill)
        backlog = stream.sent + 30
        await stream.until(lambda: stream.sent >= backlog)
        await asyncio.to_thread(running.insights.start)
        await asyncio.to_thread(running.insights.restart_after_crash)
        # The writer (and its relay) dies under the stream and comes back.
        await asyncio.to_thread(running.profiles.restart_after_crash)

    await stream.around(crashes, before=40, after=40)
    result = await count(running, databases, stream)
    print(result.line("insights and profiles killed -9 and restarted"))

    # Commands the dying writer never answered may have been written (``in_doubt``):
    # if so, they reached insights too, exactly once (``lost`` and ``duplicates``
    # count every command profiles stored, answered or not).
    assert_nothing_lost_or_doubled(result)


async def test_a_database_restart_fails_requests_cleanly_and_writes_nothing_partial(
    running: Fleet,
    databases: Databases,
    client: httpx.AsyncClient,
    postgres_server: Any,
) -> None:
    if postgres_server.is_external:
        pytest.skip("an external PostgreSQL server cannot be restarted")
    stream = Stream(client, running.profiles.url, new_tenant())

    def refused() -> int:
        return sum(1 for o in stream.outcomes if o.status == 503)

    async def database_restart() -> None:
        await asyncio.to_thread(postgres_server.stop)
        seen = refused() + 5  # callers are told to come back while it is down
        await stream.until(lambda: refused() >= seen)
        await asyncio.to_thread(postgres_server.start)

    await stream.around(database_restart, before=40, after=40)
    result = await count(running, databases, stream)
    print(result.line("postgresql restarted"))

    failures = [o for o in stream.outcomes if not o.accepted]
    assert len(failures) >= 5
    for failure in failures:
        assert failure.status == 503, failure
        assert failure.retry_after is not None and int(failure.retry_after) > 0
        assert failure.content_type == "application/problem+json"
        assert failure.problem is not None
        assert failure.problem["code"] == "ServiceUnavailable"
    assert all(o.accepted for o in stream.outcomes[-20:])  # recovered
    assert_nothing_lost_or_doubled(result)
    assert result.in_doubt == 0


async def _facts_of(databases: Databases, tenant: str, marker: str) -> int:
    return (await counts(databases.insights, INSIGHTS_FACTS, tenant))[marker]


async def test_a_poison_event_is_dead_lettered_shown_and_replayed_once_after_the_fix(
    running: Fleet, databases: Databases, client: httpx.AsyncClient
) -> None:
    tenant = new_tenant()
    poison = f"{tenant}-poison"
    # The defect: insights cannot store this fact (as if a column were too narrow).
    async with databases.insights.begin() as conn:
        await conn.execute(
            text(
                "ALTER TABLE facts ADD CONSTRAINT faults_poison "
                f'CHECK (data NOT LIKE \'%"function":"{poison}"%\')'
            )
        )
    try:
        registered = await client.post(
            f"{running.profiles.url}/people",
            json=person(poison),
            headers=bearer(tenant, Role.COORDINATOR),
        )
        assert registered.status_code == 201, registered.text
        person_id = registered.json()["person_id"]
        stream = Stream(client, running.profiles.url, tenant)
        healthy = [f"{tenant}-{i:04d}" for i in range(20)]
        for marker in healthy:
            await stream.send(marker)

        admin = bearer(tenant, Role.ADMIN)
        letters = f"{running.insights.url}/admin/dead-letters"

        async def dead_lettered() -> bool:
            items = (await client.get(letters, headers=admin)).json()["items"]
            return bool(items)

        await until(dead_lettered, "the poison event in the dead letters")
        [letter] = (await client.get(letters, headers=admin)).json()["items"]
        assert letter["event_type"] == "PersonRegistered"
        assert letter["topic"] == "tandem.profiles.v1"
        assert "faults_poison" in letter["reason"]
        detail = (await client.get(f"{letters}/{letter['id']}", headers=admin)).json()
        assert detail["payload"]["person_id"] == person_id
        assert detail["payload"]["function"] == poison
        on_dead_letter_topic = await published(
            running.kafka_bootstrap, dead_letter_topic("tandem.insights"), tenant
        )
        assert on_dead_letter_topic[letter["event_id"]] == 1
        # Its partition moved on: every later registration was projected.
        for marker in healthy:
            await until(
                lambda m=marker: _is_projected(databases, tenant, m),
                f"{marker} projected past the poison",
            )
        assert await _facts_of(databases, tenant, poison) == 0
    finally:
        async with databases.insights.begin() as conn:  # the fix is deployed
            await conn.execute(
                text("ALTER TABLE facts DROP CONSTRAINT IF EXISTS faults_poison")
            )

    replay = await client.post(f"{letters}/{letter['id']}/replay", headers=admin)
    assert replay.status_code == 202, replay.text
    await until(
        lambda: _is_projected(databases, tenant, poison), "the replayed event applied"
    )
    again = await client.post(f"{letters}/{letter['id']}/replay", headers=admin)
    assert again.status_code == 409
    forced = await client.post(
        f"{letters}/{letter['id']}/replay?force=true", headers=admin
    )
    assert forced.status_code == 202
    # A later event of the same person shares its partition: once it is projected,
    # the forced replay before it has been seen (and found already applied).
    changed = person(poison) | {"business_unit": "Recovered"}
    update = await client.put(
        f"{running.profiles.url}/people/{person_id}",
        json=changed,
        headers=bearer(tenant, Role.COORDINATOR),
    )
    assert update.status_code in (200, 204), update.text
    await until(
        lambda: _has_fact(databases, tenant, "PersonDetailsUpdated", person_id),
        "the person's next event projected",
    )
    projected = await _facts_of(databases, tenant, poison)
    print(
        f"[poison event] dead_lettered=1 replays=2 projected={projected} "
        f"duplicates={projected - 1} lost={1 - projected}"
    )
    assert projected == 1


async def _is_projected(databases: Databases, tenant: str, marker: str) -> bool:
    return await _facts_of(databases, tenant, marker) >= 1


async def _has_fact(databases: Databases, tenant: str, kind: str, subject: str) -> bool:
    async with databases.insights.connect() as conn:
        found = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM facts WHERE tenant = :t AND type = :k "
                    "AND data::json->>'person_id' = :p"
                ),
                {"t": tenant, "k": kind, "p": subject},
            )
        ).scalar_one()
    return found > 0
