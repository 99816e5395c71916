"""The batch rebuild (parts folding facts in memory) against live, fact-by-fact
handling, on real PostgreSQL. No broker: facts go through the consumer's own handler
(``on_event``) in a transaction each, as the consumer applies them.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.service import mounted
from services.insights.projections import facts
from services.insights.projections.read_models import ReadModels
from tests.insights.synthetic import generate, shuffled_twice
from tests.insights.test_scorecards_api import read_models


@pytest.fixture
def app(prepared_app):
    return prepared_app


def sessions(tenant: str, kind: str, rid: str, data: dict, at) -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        source="tandem/sessions",
        type=kind,
        subject=rid,
        time=at,
        data={"relationship_id": rid, **data} if rid else data,
        tenant=tenant,
    )


def pairing_of(rid: str, uuids: bool) -> str:
    """The pairing of ``rid``: as Tandem issues ids (a UUID), or another shape."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, rid)) if uuids else f"pair-{rid}"


def planted(tenant: str, *, uuids: bool = False) -> list[Envelope]:
    """A stalled relationship and one whose pairing ended (found by its pairing)."""
    now = utcnow()
    out = []
    for rid, start in (("rel-late-stalled", 100), ("rel-late-ended", 60)):
        began = now - timedelta(days=start)
        out.append(
            sessions(
                tenant,
                "RelationshipStarted",
                rid,
                {
                    "pairing_id": pairing_of(rid, uuids),
                    "mentor_id": f"mentor-{rid}",
                    "mentee_id": f"mentee-{rid}",
                    "cohort_id": "cohort-1",
                    "starts_on": began.date().isoformat(),
                },
                began,
            )
        )
    for days in (30, 20):
        at = now - timedelta(days=days)
        out.append(
            sessions(
                tenant,
                "SessionCancelled",
                "rel-late-stalled",
                {"session_id": f"c-{days}", "cancelled_by": "x"},
                at,
            )
        )
    ended = Envelope(
        id=str(uuid.uuid4()),
        source="tandem/matching",
        type="PairingEnded",
        subject=pairing_of("rel-late-ended", uuids),
        time=now - timedelta(days=5),
        data={
            "pairing_id": pairing_of("rel-late-ended", uuids),
            "mentor_id": "mentor-rel-late-ended",
            "mentee_id": "mentee-rel-late-ended",
            "reason": "completed",
        },
        tenant=tenant,
    )
    return [*out, ended]


async def apply_live(app, envelopes: list[Envelope]) -> None:
    on_event = app.state.runtime.consumer.fallback
    for env in envelopes:
        async with app.state.runtime.engine.begin() as conn:
            await on_event(env, conn)


async def rebuild_now(app) -> dict:
    progress: dict = {"processed": 0, "total": 0}
    async with app.state.runtime.engine.begin() as conn:
        await mounted(app).provide(ReadModels).rebuild(conn, progress)
    return progress


async def warnings_in_store(app) -> list[tuple]:
    async with app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT stream_id, version, payload FROM events "
                "WHERE event_type = 'EarlyWarningRaised' ORDER BY stream_id, version"
            )
        )
        return [(r.stream_id, r.version, r.payload) for r in rows]


async def health_rows(app, tenant: str) -> dict[str, tuple]:
    async with app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT relationship_id, state, reasons FROM relationship_health "
                "WHERE tenant = :t"
            ),
            {"t": tenant},
        )
        return {r.relationship_id: (r.state, r.reasons) for r in rows}


async def test_batch_rebuild_equals_live_and_raises_no_warning_twice(app):
    tenant = f"rb-{uuid.uuid4().hex[:8]}"
    org = generate(seed=11, tenant=tenant)
    envelopes = [*org.envelopes, *planted(tenant)]
    # Live in an order shuffled across streams, as partitions deliver them.
    await apply_live(
        app, list({e.id: e for e in shuffled_twice(envelopes, 4)}.values())
    )
    live = await read_models(app)
    raised = await warnings_in_store(app)
    health = await health_rows(app, tenant)
    assert health["rel-late-stalled"][0] == "at_risk"
    assert health["rel-late-ended"][0] == "concluded"  # its PairingEnded was found

    progress = await rebuild_now(app)
    assert progress["processed"] == progress["total"] == len(envelopes)
    assert progress["phase"] == "committing"
    assert await read_models(app) == live
    # Every warning was raised live already: the rebuild raises none again.
    assert await warnings_in_store(app) == raised

    # The batch path and the one-fact-at-a-time path give the same models.
    mounted(app).provide(ReadModels).rebuilders = []
    await rebuild_now(app)
    assert await read_models(app) == live


async def test_rebuild_raises_a_warning_once_for_a_relationship_never_warned(app):
    tenant = f"rb-{uuid.uuid4().hex[:8]}"
    envelopes = planted(tenant)
    async with app.state.runtime.engine.begin() as conn:
        for env in envelopes:  # facts kept but never handled (a part added later)
            await facts.record(env, conn)
    await rebuild_now(app)
    first = await warnings_in_store(app)
    stalled = [w for w in first if w[0] == f"health-{tenant}-rel-late-stalled"]
    assert [w[2]["level"] for w in stalled] == ["at_risk", "idle"]
    assert not [w for w in first if w[0] == f"health-{tenant}-rel-late-ended"]
    await rebuild_now(app)
    assert await warnings_in_store(app) == first


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "batched"])
@pytest.mark.parametrize("uuids", [False, True], ids=["other ids", "uuids"])
async def test_a_pairing_ended_before_its_relationship_started_still_concludes_it(
    app, uuids, batched
):
    """Its pairing's end is found by the pairing's id: through the index of the ids
    facts name when Tandem issued it, by the facts' text otherwise."""
    tenant = f"rb-{uuid.uuid4().hex[:8]}"
    envelopes = planted(tenant, uuids=uuids)
    ended = envelopes[-1]
    # matching's PairingEnded overtakes sessions' RelationshipStarted (two topics).
    await apply_live(app, [ended])
    if batched:
        async with app.state.runtime.engine.begin() as conn:
            await app.state.runtime.consumer.batch_handler(envelopes[:-1], conn)
    else:
        await apply_live(app, envelopes[:-1])
    health = await health_rows(app, tenant)
    assert health["rel-late-ended"][0] == "concluded"
    live = await read_models(app)
    await rebuild_now(app)  # the rebuild reads facts in the same (arrival) order
    assert (await health_rows(app, tenant))["rel-late-ended"][0] == "concluded"
    assert await read_models(app) == live
