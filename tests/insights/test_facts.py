"""insights keeps every event once as a fact and forgets an erased person: their own
facts leave, the facts of the people they met keep a pseudonym in their place."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from tests.insights.conftest import event, publish, until_facts
from tests.support.waiting import until

pytestmark = pytest.mark.kafka


async def test_facts_are_kept_once_and_erasure_leaves_no_trace(
    insights, kafka_bootstrap
):
    app, _c = insights
    confirmed = event(
        "matching",
        "PairingConfirmed",
        "pair-1",
        {"pairing_id": "pair-1", "mentor_id": "mentor-1", "mentee_id": "mentee-1"},
    )
    other = event(
        "profiles", "PersonRegistered", "p-2", {"person_id": "p-2", "level": 4}
    )
    await publish(kafka_bootstrap, [confirmed, confirmed, other])  # one delivered twice
    await until_facts(app, 2)
    async with app.state.runtime.engine.connect() as conn:
        assert (
            await conn.execute(text("SELECT count(*) FROM facts"))
        ).scalar_one() == 2

    await publish(
        kafka_bootstrap,
        [
            event(
                "profiles",
                "PersonErased",
                "mentee-1",
                {"person_id": "mentee-1", "erased_at": "2027-01-01T00:00:00+00:00"},
            )
        ],
    )

    async def forgotten() -> bool:
        async with app.state.runtime.engine.connect() as conn:
            left = (
                await conn.execute(
                    text("SELECT count(*) FROM facts WHERE data LIKE '%mentee-1%'")
                )
            ).scalar_one()
        return bool(left == 0)

    await until(forgotten, "no fact to mention the erased mentee", 60)
    async with app.state.runtime.engine.connect() as conn:
        kept = [
            json.loads(d)
            for (d,) in await conn.execute(
                text("SELECT data FROM facts WHERE type = 'PairingConfirmed'")
            )
        ]
    # The mentor's pairing is still a fact; the erased mentee is a pseudonym in it.
    assert len(kept) == 1 and kept[0]["mentor_id"] == "mentor-1"
    assert kept[0]["mentee_id"].startswith("erased-")
