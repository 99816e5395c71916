"""Operators list, read and replay dead letters (real Kafka and PostgreSQL).

A consumer whose handler cannot apply a message dead-letters it; an admin of its
organisation sees it under ``/admin/dead-letters`` with the reason and the payload,
and after the fix replays it: the consumer applies it exactly once, a second replay
needs ``?force=true`` and still changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth import Role, mint_token
from chassis.db import create_engine
from chassis.envelope import Envelope
from chassis.events import NewEvent
from chassis.http import create_app
from chassis.http.dead_letters import REPLAY_HEADER, dead_letter_router
from chassis.messaging import ConsumerRunner, OutboundMessage
from chassis.messaging.consumer import prune_marks
from chassis.messaging.kafka import KafkaTransport
from chassis.messaging.transport import REPLAY_FOR
from chassis.settings import DEFAULT_DEV_SECRET, ServiceSettings
from tests.support.waiting import until

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def bearer(tenant: str, *roles: Role) -> dict[str, str]:
    token = mint_token(
        DEFAULT_DEV_SECRET, "op-1", tenant, list(roles), "tandem-dev", "tandem"
    )
    return {"authorization": f"Bearer {token}"}


@dataclass
class Rig:
    engine: AsyncEngine
    transport: KafkaTransport
    runner: ConsumerRunner
    client: httpx.AsyncClient
    topic: str
    fixed: list[bool]

    async def effects(self, event_id: str) -> int:
        async with self.engine.connect() as conn:
            return (
                await conn.execute(
                    text("SELECT count(*) FROM effects WHERE event_id = :e"),
                    {"e": event_id},
                )
            ).scalar_one()

    async def until(self, done: Callable[[], bool], what: str) -> None:
        """Poll the consumer (this test drives it) until ``done``."""

        async def step() -> bool:
            await self.runner.poll_once()
            return done()

        await until(step, what, interval_s=0.05)


def event(topic: str, tenant: str, **data: object) -> tuple[str, OutboundMessage]:
    envelope = Envelope(
        id=str(uuid.uuid4()),
        source="tandem/test",
        type="ThingHappened",
        subject=f"thing-{uuid.uuid4().hex[:6]}",
        time=NewEvent("x", {}).time,
        data=dict(data),
        tenant=tenant,
    )
    return envelope.id, OutboundMessage.of(topic, envelope)


@pytest.fixture
async def rig(database_url: str, kafka_bootstrap: str) -> AsyncIterator[Rig]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE effects (event_id TEXT NOT NULL)"))
    transport = KafkaTransport(kafka_bootstrap)
    fixed = [False]

    async def apply(envelope: Envelope, conn: AsyncConnection) -> None:
        if envelope.data.get("poison") and not fixed[0]:
            raise ValueError("cannot apply a poisoned thing")
        await conn.execute(
            text("INSERT INTO effects (event_id) VALUES (:e)"), {"e": envelope.id}
        )

    topic = f"test.deadletters.{uuid.uuid4().hex[:8]}"
    runner = ConsumerRunner(
        name=f"test-dl-{uuid.uuid4().hex[:6]}",
        topics=[topic],
        engine=engine,
        transport=transport,
        handlers={"ThingHappened": apply},
        retry_backoff_s=0.01,
        poll_timeout_s=0.2,
    )
    await runner.start()
    app = create_app(
        ServiceSettings(service_name="faults", environment="test"),
        title="dead letters",
        version="0",
        routers=[dead_letter_router(engine, transport, runner.name)],
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://svc"
    ) as client:
        yield Rig(engine, transport, runner, client, topic, fixed)
    await runner.stop()
    await transport.stop()
    await engine.dispose()


async def test_a_dead_letter_is_listed_read_and_replayed_once_after_the_fix(
    rig: Rig,
) -> None:
    poison_id, poison = event(rig.topic, "acme", n=1, poison=True)
    good_id, good = event(rig.topic, "acme", n=2)
    _, foreign = event(rig.topic, "globex", n=3, poison=True)
    garbage = OutboundMessage(topic=rig.topic, key=b"k", value=b"{not json")
    await rig.transport.publish([poison, good, foreign, garbage])
    await rig.until(
        lambda: rig.runner.dead_letters == 3 and rig.runner.applied == 1,
        "three dead letters and one applied message",
    )
    admin = bearer("acme", Role.ADMIN)

    listed = (await rig.client.get("/admin/dead-letters", headers=admin)).json()
    assert [i["event_id"] for i in listed["items"]] == [poison_id]
    assert listed["unattributed"] == 1  # the garbage: no tenant to show it to
    item = listed["items"][0]
    assert item["topic"] == rig.topic and item["tenant"] == "acme"
    assert item["event_type"] == "ThingHappened" and item["attempts"] == 3
    assert "cannot apply a poisoned thing" in item["reason"]
    assert item["replayed_at"] is None and item["dead_lettered_at"]

    detail = (
        await rig.client.get(f"/admin/dead-letters/{item['id']}", headers=admin)
    ).json()
    assert detail["payload"] == {"n": 1, "poison": True}
    assert {"name": "ce_id", "value": poison_id} in detail["headers"]
    assert await rig.effects(poison_id) == 0 and await rig.effects(good_id) == 1

    rig.fixed[0] = True  # the fix is deployed
    replay = await rig.client.post(
        f"/admin/dead-letters/{item['id']}/replay", headers=admin
    )
    assert replay.status_code == 202, replay.text
    assert replay.json()["replayed_at"]
    await rig.until(lambda: rig.runner.applied == 2, "the replayed message applied")
    assert await rig.effects(poison_id) == 1

    again = await rig.client.post(
        f"/admin/dead-letters/{item['id']}/replay", headers=admin
    )
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["code"] == "Conflict" and again.json()["replayed_at"]

    forced = await rig.client.post(
        f"/admin/dead-letters/{item['id']}/replay?force=true", headers=admin
    )
    assert forced.status_code == 202
    await rig.until(lambda: rig.runner.duplicates == 1, "the forced replay seen")
    assert await rig.effects(poison_id) == 1  # applied once, however often replayed

    pending = await rig.client.get("/admin/dead-letters?replayed=false", headers=admin)
    assert pending.json()["items"] == []
    done = await rig.client.get("/admin/dead-letters?replayed=true", headers=admin)
    assert [i["id"] for i in done.json()["items"]] == [item["id"]]


async def test_only_admins_of_the_organisation_see_its_dead_letters(rig: Rig) -> None:
    _, poison = event(rig.topic, "acme", n=1, poison=True)
    await rig.transport.publish([poison])
    await rig.until(lambda: rig.runner.dead_letters == 1, "one dead letter")
    listed = await rig.client.get(
        "/admin/dead-letters", headers=bearer("acme", Role.ADMIN)
    )
    letter = listed.json()["items"][0]["id"]

    anonymous = await rig.client.get("/admin/dead-letters")
    assert anonymous.status_code == 401
    coordinator = await rig.client.get(
        "/admin/dead-letters", headers=bearer("acme", Role.COORDINATOR)
    )
    assert coordinator.status_code == 403
    stranger = bearer("globex", Role.ADMIN)
    assert (await rig.client.get("/admin/dead-letters", headers=stranger)).json()[
        "items"
    ] == []
    for method, path in (
        ("GET", f"/admin/dead-letters/{letter}"),
        ("POST", f"/admin/dead-letters/{letter}/replay"),
        ("GET", "/admin/dead-letters/no-such-letter"),
    ):
        response = await rig.client.request(method, path, headers=stranger)
        assert response.status_code == 404, (method, path)
        assert response.json()["code"] == "NotFound"


async def test_pages_of_dead_letters_follow_the_cursor(rig: Rig) -> None:
    messages = [event(rig.topic, "acme", n=i, poison=True)[1] for i in range(5)]
    await rig.transport.publish(messages)
    await rig.until(lambda: rig.runner.dead_letters == 5, "five dead letters")
    admin = bearer("acme", Role.ADMIN)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        query = f"?limit=2&after={cursor}" if cursor else "?limit=2"
        page = (
            await rig.client.get(f"/admin/dead-letters{query}", headers=admin)
        ).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    bad = await rig.client.get("/admin/dead-letters?limit=0", headers=admin)
    assert bad.status_code == 422 and bad.json()["code"] == "ValidationError"


async def test_a_replay_carries_the_original_headers_and_its_origin(
    rig: Rig, kafka_bootstrap: str
) -> None:
    poison_id, poison = event(rig.topic, "acme", n=7, poison=True)
    await rig.transport.publish([poison])
    await rig.until(lambda: rig.runner.dead_letters == 1, "one dead letter")
    admin = bearer("acme", Role.ADMIN)
    letter = (await rig.client.get("/admin/dead-letters", headers=admin)).json()[
        "items"
    ][0]["id"]
    # Still broken: the replay is dead-lettered again, as a new letter.
    await rig.client.post(f"/admin/dead-letters/{letter}/replay", headers=admin)
    await rig.until(lambda: rig.runner.dead_letters == 2, "dead-lettered again")
    items = (await rig.client.get("/admin/dead-letters", headers=admin)).json()["items"]
    newest = (
        await rig.client.get(f"/admin/dead-letters/{items[0]['id']}", headers=admin)
    ).json()
    headers = {h["name"]: h["value"] for h in newest["headers"]}
    assert headers["ce_id"] == poison_id
    assert headers[REPLAY_HEADER] == letter
    assert {h["name"]: h["value"] for h in newest["headers"]}.keys() >= {
        "ce_type",
        "ce_tenant",
        "ce_subject",
    }
    assert newest["payload"] == {"n": 7, "poison": True}


async def test_a_replay_is_for_the_group_that_dead_lettered_it(rig: Rig) -> None:
    """Another group of the topic applied the message long ago, and its mark of it
    has been pruned (``processed_retention_days``): the replay, addressed to the
    group that failed, is passed by the other, not applied a second time."""
    async with rig.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE other_effects (event_id TEXT NOT NULL)"))

    async def other_apply(envelope: Envelope, conn: AsyncConnection) -> None:
        await conn.execute(
            text("INSERT INTO other_effects (event_id) VALUES (:e)"), {"e": envelope.id}
        )

    other = ConsumerRunner(
        name=f"test-dl-other-{uuid.uuid4().hex[:6]}",
        topics=[rig.topic],
        engine=rig.engine,
        transport=rig.transport,
        handlers={"ThingHappened": other_apply},
        poll_timeout_s=0.2,
    )
    await other.start()
    try:
        poison_id, poison = event(rig.topic, "acme", n=1, poison=True)
        await rig.transport.publish([poison])
        await rig.until(lambda: rig.runner.dead_letters == 1, "one dead letter")
        await until(lambda: other.poll_once(), "the other group applies it")
        async with rig.engine.begin() as conn:  # ... long ago: its mark is old
            await conn.execute(
                text(
                    "UPDATE processed_events SET processed_at = now() - interval "
                    "'40 days' WHERE consumer = :c"
                ),
                {"c": other.name},
            )
        assert await prune_marks(rig.engine, 30) == 1

        rig.fixed[0] = True
        admin = bearer("acme", Role.ADMIN)
        [letter] = (await rig.client.get("/admin/dead-letters", headers=admin)).json()[
            "items"
        ]
        detail = (
            await rig.client.get(f"/admin/dead-letters/{letter['id']}", headers=admin)
        ).json()
        replayed = await rig.client.post(
            f"/admin/dead-letters/{letter['id']}/replay", headers=admin
        )
        assert replayed.status_code == 202
        await rig.until(lambda: rig.runner.applied == 1, "the replay applied")
        assert await rig.effects(poison_id) == 1

        async def passed() -> bool:
            await other.poll_once()
            return other.replays_passed == 1

        await until(passed, "the other group passes the replay")
        async with rig.engine.connect() as conn:
            applied = await conn.execute(text("SELECT count(*) FROM other_effects"))
            assert applied.scalar_one() == 1  # once, long ago; not again
        assert {"name": REPLAY_FOR, "value": rig.runner.name} not in detail["headers"]
    finally:
        await other.stop()
