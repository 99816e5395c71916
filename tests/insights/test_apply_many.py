"""A polled batch applied together (``Inbound.apply_many``, the consumer's batch
handler) leaves exactly what applying its events one at a time leaves, and costs a
number of SQL statements that does not grow with the batch (issue 19: the insights
consumer applied ~80 events/s, several statements per event).

No broker: the handlers are called as the consumer calls them, on real PostgreSQL.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.messaging.transport import OutboundMessage
from tests.insights.conftest import TENANT, publish, until_facts
from tests.insights.synthetic import generate, shuffled_twice
from tests.insights.test_rebuild import apply_live, planted, rebuild_now, sessions
from tests.insights.test_scorecards_api import read_models
from tests.support.statements import counted

SNAPSHOT = {
    "facts": "SELECT event_id, type, subject, occurred_at, data FROM facts "
    "WHERE tenant = :t ORDER BY event_id",
    "fact_people": "SELECT p.event_id, p.person_id FROM fact_people p "
    "JOIN facts f USING (event_id) WHERE f.tenant = :t ORDER BY 1, 2",
    "relationship_health": "SELECT relationship_id, pairing_id, mentor_id, "
    "mentee_id, cohort_id, state, reasons, idle, facts FROM relationship_health "
    "WHERE tenant = :t ORDER BY relationship_id",
    "equity_people": "SELECT person_id, data FROM equity_people WHERE tenant = :t "
    "ORDER BY person_id",
    "scorecard_parts": "SELECT part, facts, slice, latest FROM scorecard_parts "
    "WHERE tenant = :t ORDER BY part",
    "events": "SELECT stream_id, version, event_type, CAST(payload AS TEXT) "
    "FROM events WHERE tenant = :t ORDER BY stream_id, version",
    "erasure_receipts": "SELECT person_key, stores FROM erasure_receipts "
    "WHERE tenant = :t ORDER BY person_key",
}
WIPE = (
    "DELETE FROM fact_people WHERE event_id IN "
    "(SELECT event_id FROM facts WHERE tenant = :t)",
    "DELETE FROM facts WHERE tenant = :t",
    "DELETE FROM relationship_health WHERE tenant = :t",
    "DELETE FROM equity_people WHERE tenant = :t",
    "DELETE FROM scorecard_parts WHERE tenant = :t",
    "DELETE FROM events WHERE tenant = :t",
    "DELETE FROM erasure_receipts WHERE tenant = :t",
)


async def snapshot(app, tenant: str) -> dict[str, list[str]]:
    """Every row insights keeps for the tenant, the erasure's pseudonym named alike."""
    async with app.state.runtime.engine.connect() as conn:
        pseudonyms = (
            await conn.execute(
                text("SELECT pseudonym FROM erasure_receipts WHERE tenant = :t"),
                {"t": tenant},
            )
        ).scalars()
        found = {
            table: [
                json.dumps(list(row), default=str)
                for row in await conn.execute(text(query), {"t": tenant})
            ]
            for table, query in SNAPSHOT.items()
        }
    for pseudonym in pseudonyms:
        found = {
            t: [r.replace(pseudonym, "<pseudonym>") for r in rows]
            for t, rows in found.items()
        }
    return found


async def wipe(app, tenant: str) -> None:
    async with app.state.runtime.engine.begin() as conn:
        for statement in WIPE:
            await conn.execute(text(statement), {"t": tenant})


async def apply_in_batches(app, envelopes: list[Envelope], seed: int) -> None:
    apply_many = app.state.runtime.consumer.batch_handler
    rng = random.Random(seed)
    at = 0
    while at < len(envelopes):
        size = rng.choice((1, 2, 7, 30, 200))
        async with app.state.runtime.engine.begin() as conn:
            await apply_many(envelopes[at : at + size], conn)
        at += size


def erasure(tenant: str, person: str) -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        source="tandem/profiles",
        type="PersonErased",
        subject=person,
        time=utcnow(),
        data={"person_id": person, "erased_at": utcnow().isoformat()},
        tenant=tenant,
    )


async def test_a_batch_applied_together_equals_its_events_one_at_a_time(prepared_app):
    app = prepared_app
    tenant = f"am-{uuid.uuid4().hex[:8]}"
    org = generate(seed=23, tenant=tenant)
    envelopes = [*org.envelopes, *planted(tenant)]
    # Delivered twice in an order shuffled across streams (the consumer drops the
    # second copy), with one person erased two thirds of the way through.
    delivered = list({e.id: e for e in shuffled_twice(envelopes, 5)}.values())
    mentee = next(
        e.data["mentee_id"] for e in delivered if e.type == "RelationshipStarted"
    )
    cut = 2 * len(delivered) // 3
    delivered = [*delivered[:cut], erasure(tenant, mentee), *delivered[cut:]]

    await apply_live(app, delivered)
    one_at_a_time = await snapshot(app, tenant)
    assert one_at_a_time["erasure_receipts"]
    assert any(r for r in one_at_a_time["events"] if "EarlyWarningRaised" in r)

    for seed in (1, 2):
        await wipe(app, tenant)
        await apply_in_batches(app, delivered, seed)
        assert await snapshot(app, tenant) == one_at_a_time


def steady(tenant: str, n: int, rids: list[str]) -> list[Envelope]:
    """What a steady stream brings: sessions, check-ins, feedback, milestones."""
    now = utcnow()
    out: list[Envelope] = []
    for i in range(n):
        rid = rids[i % len(rids)]
        at = now - timedelta(days=3, minutes=i)
        kind = i % 4
        if kind == 0:
            out.append(
                sessions(
                    tenant,
                    "SessionHeld",
                    rid,
                    {"session_id": f"s-{rid}-{i}", "held_at": at.isoformat()},
                    at,
                )
            )
        elif kind == 1:
            out.append(
                sessions(
                    tenant,
                    "CheckInRecorded",
                    rid,
                    {"check_in_id": f"ci-{i}", "held_on": at.date().isoformat()},
                    at,
                )
            )
        elif kind == 2:
            out.append(
                sessions(
                    tenant,
                    "FeedbackGiven",
                    rid,
                    {
                        "feedback_id": f"fb-{i}",
                        "session_id": f"s-{rid}-{i - 2}",
                        "rating": 4,
                        "from_role": "mentee",
                    },
                    at,
                )
            )
        else:
            out.append(
                sessions(
                    tenant,
                    "MilestoneAchieved",
                    rid,
                    {"milestone_id": f"m-{i}", "achieved_on": at.date().isoformat()},
                    at,
                )
            )
    return out


async def test_a_batch_costs_as_many_statements_for_200_events_as_for_4(prepared_app):
    app = prepared_app
    tenant = f"am-{uuid.uuid4().hex[:8]}"
    org = generate(seed=29, tenant=tenant)
    await apply_in_batches(app, org.envelopes, 3)
    rids = sorted(
        {
            e.data["relationship_id"]
            for e in org.envelopes
            if e.type == "RelationshipStarted"
        }
    )
    # Each relationship's health settled already: the stream below changes no state.
    warm = steady(tenant, 2 * len(rids) * 4, rids)
    await apply_in_batches(app, warm, 4)
    apply_many = app.state.runtime.consumer.batch_handler
    engine = app.state.runtime.engine
    sizes: dict[int, list[str]] = {}
    for n in (4, 200):
        batch = steady(tenant, n, rids)
        async with counted(engine) as statements:
            async with engine.begin() as conn:
                await apply_many(batch, conn)
        sizes[n] = list(statements)
    listed = "\n  ".join(sizes[200])
    assert len(sizes[200]) <= len(sizes[4]), (
        f"{len(sizes[4])} statements for 4 events, {len(sizes[200])} for 200:\n  {listed}"
    )
    assert len(sizes[200]) <= 12, listed


@pytest.mark.kafka
async def test_batches_through_the_broker_equal_a_rebuild_from_the_facts(
    insights, kafka_bootstrap
):
    """The real consumer (batches of whatever the broker hands over, every message
    twice, shuffled across topics) leaves what a rebuild from the facts leaves."""
    app, _client = insights
    org = generate(seed=31, tenant=TENANT)
    doubled = shuffled_twice(org.envelopes, 6)
    topic = {
        "tandem/profiles": "tandem.profiles.v1",
        "tandem/matching": "tandem.matching.v1",
        "tandem/sessions": "tandem.sessions.v1",
        "tandem/advisors": "tandem.advisors.v1",
    }
    await publish(
        kafka_bootstrap, [OutboundMessage.of(topic[e.source], e) for e in doubled]
    )
    await until_facts(app, len(org.envelopes))
    consumer = app.state.runtime.consumer
    assert consumer.batches_rolled_back == 0
    live = await read_models(app)
    await rebuild_now(app)
    assert await read_models(app) == live
