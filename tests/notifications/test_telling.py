"""Who is told what, from events on the real broker into the real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from contracts import matching as m
from services.notifications.application.telling import Telling
from services.notifications.domain import notices
from tests.notifications.conftest import (
    event,
    inbox,
    person_event,
    person_token,
    proposed,
    publish,
    until_applied,
)


def _kinds(page: dict) -> list[str]:
    return [item["kind"] for item in page["items"]]


async def test_a_proposal_tells_both_people_in_their_own_inbox(
    notifications, kafka_bootstrap, tenant
):
    app, client = notifications
    msg = proposed(tenant, "mentor-1", "mentee-1", pairing_id="pairing-a")
    await until_applied(app, await publish(kafka_bootstrap, [msg]))

    for person in ("mentor-1", "mentee-1"):
        page = await inbox(client, tenant, person)
        assert _kinds(page) == ["pairing_proposed"] and page["unread"] == 1
        item = page["items"][0]
        assert item["subject_id"] == "pairing-a" and item["read"] is False
        # ids and moments only: no score, no explanation, no other person's id
        assert set(item["facts"]) == {"pairing_id", "expires_at"}
    assert (await inbox(client, tenant, "someone-else"))["items"] == []
    # another organisation's person with the same id sees nothing
    assert (await inbox(client, f"{tenant}-other", "mentor-1"))["items"] == []


async def test_redelivery_tells_nobody_twice(notifications, kafka_bootstrap, tenant):
    app, client = notifications
    event_id = str(uuid.uuid4())
    copies = [
        proposed(tenant, "mentor-2", "mentee-2", pairing_id="p2", event_id=event_id)
        for _ in range(3)
    ]
    await until_applied(app, await publish(kafka_bootstrap, copies))

    # Told again by hand, as a replay past the consumer's record would: the key
    # stored with the notification (event, recipient) keeps it single.
    telling = app.state.service.provide(Telling)
    payload = m.PairingProposed(
        pairing_id="p2",
        mentor_id="mentor-2",
        mentee_id="mentee-2",
        score=0.5,
        expires_at=datetime.now(UTC),
    )
    async with app.state.runtime.engine.begin() as conn:
        again = await telling.tell(
            conn, tenant, event_id, notices.pairing_proposed(payload)
        )
    assert again == 0
    for person in ("mentor-2", "mentee-2"):
        assert len((await inbox(client, tenant, person))["items"]) == 1


async def test_nobody_erased_or_deactivated_is_told(
    notifications, kafka_bootstrap, tenant
):
    app, client = notifications
    ids = await publish(
        kafka_bootstrap,
        [
            person_event(tenant, "PersonDeactivated", "mentor-3"),
            person_event(
                tenant, "PersonErased", "mentee-3", erased_at="2030-01-01T00:00:00Z"
            ),
        ],
    )
    await until_applied(app, ids)
    ids = await publish(kafka_bootstrap, [proposed(tenant, "mentor-3", "mentee-3")])
    await until_applied(app, ids)
    async with app.state.runtime.engine.connect() as conn:
        told = await conn.scalar(
            text("SELECT count(*) FROM notifications WHERE tenant = :t"), {"t": tenant}
        )
    assert told == 0

    # reactivated: told again from the next event on
    ids = await publish(
        kafka_bootstrap,
        [
            person_event(tenant, "PersonReactivated", "mentor-3"),
            person_event(tenant, "PersonReactivated", "mentee-3"),  # erasure stays
        ],
    )
    await until_applied(app, ids)
    ids = await publish(kafka_bootstrap, [proposed(tenant, "mentor-3", "mentee-3")])
    await until_applied(app, ids)
    assert _kinds(await inbox(client, tenant, "mentor-3")) == ["pairing_proposed"]
    async with app.state.runtime.engine.connect() as conn:
        erased = await conn.scalar(
            text("SELECT count(*) FROM notifications WHERE recipient_id = 'mentee-3'")
        )
    assert erased == 0


async def test_erasure_forgets_the_persons_inbox_and_preferences(
    notifications, kafka_bootstrap, tenant
):
    app, client = notifications
    ids = await publish(kafka_bootstrap, [proposed(tenant, "mentor-4", "mentee-4")])
    await until_applied(app, ids)
    resp = await client.put(
        "/notifications/me/preferences",
        json={"channels": ["email"], "email": "m4@acme.example"},
        headers=person_token(tenant, "mentee-4"),
    )
    assert resp.status_code == 200, resp.text

    ids = await publish(
        kafka_bootstrap,
        [
            person_event(
                tenant, "PersonErased", "mentee-4", erased_at="2030-01-01T00:00:00Z"
            )
        ],
    )
    await until_applied(app, ids)
    async with app.state.runtime.engine.connect() as conn:
        for table, column in (
            ("notifications", "recipient_id"),
            ("notification_preferences", "person_id"),
        ):
            left = await conn.scalar(
                text(f"SELECT count(*) FROM {table} WHERE {column} = 'mentee-4'")
            )
            assert left == 0, table
    # the other person keeps theirs; the erased person's token is refused
    assert len((await inbox(client, tenant, "mentor-4"))["items"]) == 1
    resp = await client.get(
        "/notifications/me", headers=person_token(tenant, "mentee-4")
    )
    assert resp.status_code == 401


async def test_pairing_steps_and_early_warnings_reach_the_pair(
    notifications, kafka_bootstrap, tenant
):
    app, client = notifications
    pair = {"pairing_id": "p5", "mentor_id": "mentor-5", "mentee_id": "mentee-5"}
    warning = {
        "relationship_id": "r5",
        "mentor_id": "mentor-5",
        "mentee_id": "mentee-5",
        "level": "at_risk",
        "reasons": ["no_session_for_45_days"],
    }
    ids = await publish(
        kafka_bootstrap,
        [
            event("matching", "PairingApproved", "p5", pair, tenant=tenant),
            event(
                "matching",
                "PairingConfirmed",
                "p5",
                {**pair, "starts_on": "2031-02-03"},
                tenant=tenant,
            ),
            event("insights", "EarlyWarningRaised", "r5", warning, tenant=tenant),
        ],
    )
    await until_applied(app, ids)
    page = await inbox(client, tenant, "mentee-5")
    assert sorted(_kinds(page)) == [
        "early_warning",
        "pairing_approved",
        "pairing_confirmed",
    ]
    nudge = next(i for i in page["items"] if i["kind"] == "early_warning")
    # insights' assessment (level, reasons) is for coordinators, not the pair
    assert nudge["facts"] == {"relationship_id": "r5"}
    confirmed = next(i for i in page["items"] if i["kind"] == "pairing_confirmed")
    assert confirmed["facts"]["starts_on"] == "2031-02-03"


async def test_a_session_is_told_even_before_its_relationship_arrives(
    notifications, kafka_bootstrap, tenant
):
    app, client = notifications
    starts = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    session = {
        "session_id": "s6",
        "relationship_id": "r6",
        "starts_at": starts,
        "minutes": 60,
        "scheduled_by": "mentor-6",
    }
    started = {
        "relationship_id": "r6",
        "pairing_id": "p6",
        "mentor_id": "mentor-6",
        "mentee_id": "mentee-6",
        "starts_on": "2031-01-01",
        "planned_end_on": "2031-12-31",
    }
    # the session first (it came on another partition), then its relationship
    ids = await publish(
        kafka_bootstrap,
        [event("sessions", "SessionScheduled", "s6", session, tenant=tenant)],
    )
    await until_applied(app, ids)
    assert (await inbox(client, tenant, "mentee-6"))["items"] == []
    ids = await publish(
        kafka_bootstrap,
        [event("sessions", "RelationshipStarted", "r6", started, tenant=tenant)],
    )
    await until_applied(app, ids)
    page = await inbox(client, tenant, "mentee-6")
    assert _kinds(page) == ["session_scheduled"]
    assert page["items"][0]["facts"]["starts_at"] == starts
    # whoever scheduled it is not told of it
    assert (await inbox(client, tenant, "mentor-6"))["items"] == []

    # a later session of the known relationship is told at once
    ids = await publish(
        kafka_bootstrap,
        [
            event(
                "sessions",
                "SessionScheduled",
                "s7",
                {**session, "session_id": "s7", "scheduled_by": "coordinator-1"},
                tenant=tenant,
            )
        ],
    )
    await until_applied(app, ids)
    assert len((await inbox(client, tenant, "mentor-6"))["items"]) == 1
    assert len((await inbox(client, tenant, "mentee-6"))["items"]) == 2
    async with app.state.runtime.engine.connect() as conn:
        parked = await conn.scalar(text("SELECT count(*) FROM notification_parked"))
    assert parked == 0
