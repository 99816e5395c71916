"""A person's inbox and preferences over HTTP: their own, nobody else's."""

from __future__ import annotations

from sqlalchemy import text

from tests.notifications.conftest import (
    event,
    inbox,
    person_event,
    person_token,
    proposed,
    publish,
    until_applied,
)
from tests.profiles.conftest import token


async def _told(app, kafka_bootstrap, messages) -> None:
    await until_applied(app, await publish(kafka_bootstrap, messages))


async def test_read_and_unread_and_nobody_elses(notifications, kafka_bootstrap, tenant):
    app, client = notifications
    await _told(
        app,
        kafka_bootstrap,
        [
            proposed(tenant, "mentor-1", "mentee-1", pairing_id=f"p{n}")
            for n in range(3)
        ],
    )
    me = person_token(tenant, "mentee-1")
    page = await inbox(client, tenant, "mentee-1")
    assert page["unread"] == 3 and len(page["items"]) == 3
    first = page["items"][0]["notification_id"]

    # the mentor's copy of the same event is theirs: the mentee cannot touch it
    mentors = await inbox(client, tenant, "mentor-1")
    theirs = mentors["items"][0]["notification_id"]
    for who in (me, token(tenant, "admin", "coordinator", sub="admin-1")):
        resp = await client.post(f"/notifications/me/{theirs}/read", headers=who)
        assert resp.status_code == 404, resp.text
        assert resp.json()["code"] == "NotificationNotFound"
    other_org = person_token(f"{tenant}-x", "mentor-1")
    resp = await client.post(f"/notifications/me/{theirs}/read", headers=other_org)
    assert resp.status_code == 404
    assert (await inbox(client, tenant, "mentor-1"))["unread"] == 3

    resp = await client.post(f"/notifications/me/{first}/read", headers=me)
    assert resp.status_code == 200 and resp.json()["read"] is True
    read_at = resp.json()["read_at"]
    again = await client.post(f"/notifications/me/{first}/read", headers=me)
    assert again.json()["read_at"] == read_at  # the first reading stays
    assert (await inbox(client, tenant, "mentee-1"))["unread"] == 2
    unread = await inbox(client, tenant, "mentee-1", unread_only="true")
    assert first not in {i["notification_id"] for i in unread["items"]}

    resp = await client.post("/notifications/me/read", headers=me)
    assert resp.json() == {"marked": 2}
    assert (await inbox(client, tenant, "mentee-1"))["unread"] == 0
    assert (await inbox(client, tenant, "mentor-1"))["unread"] == 3


async def test_pages_follow_a_cursor_and_a_forged_one_is_refused(
    notifications, kafka_bootstrap, tenant
):
    app, client = notifications
    await _told(
        app,
        kafka_bootstrap,
        [
            proposed(tenant, "mentor-2", "mentee-2", pairing_id=f"q{n}")
            for n in range(5)
        ],
    )
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"before": cursor} if cursor else {})}
        page = await inbox(client, tenant, "mentee-2", **params)
        seen += [i["notification_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    me = person_token(tenant, "mentee-2")
    for bad in ("not-a-cursor", "\x00", "A" * 199):
        resp = await client.get("/notifications/me", params={"before": bad}, headers=me)
        assert resp.status_code == 422, (bad, resp.text)
    for limit in (0, 201, 2**63):
        resp = await client.get(
            "/notifications/me", params={"limit": limit}, headers=me
        )
        assert resp.status_code == 422
    assert (await client.get("/notifications/me")).status_code == 401


async def test_preferences_default_then_chosen_and_unsubscribe_keeps_the_required(
    notifications, kafka_bootstrap, tenant
):
    app, client = notifications
    me = person_token(tenant, "mentee-3")
    await _told(
        app,
        kafka_bootstrap,
        [
            person_event(
                tenant,
                "PersonRegistered",
                "mentee-3",
                time_zone="Europe/Paris",
                level=3,
                business_unit="bu",
                function="f",
                geography="FR",
            )
        ],
    )
    resp = await client.get("/notifications/me/preferences", headers=me)
    assert resp.status_code == 200
    assert resp.json() == {
        "channels": ["email", "in_app"],
        "unsubscribed": False,
        "quiet_hours": None,
        "daily_digest": False,
        "locale": "en",
        "time_zone": "Europe/Paris",
        "email": None,
        "slack_connected": False,
        "teams_connected": False,
        "required_kinds": [
            "inactivity_warning",
            "pairing_confirmed",
            "pairing_proposed",
            "relationship_closed",
            "webhook_disabled",
        ],
    }
    chosen = {
        "channels": ["slack"],
        "unsubscribed": True,
        "quiet_hours": {"start": "22:00", "end": "07:00"},
        "daily_digest": True,
        "locale": "fr",
        "email": "m3@acme.example",
    }
    resp = await client.put("/notifications/me/preferences", json=chosen, headers=me)
    assert resp.status_code == 200, resp.text
    view = resp.json()
    assert view["channels"] == ["in_app", "slack"] and view["unsubscribed"] is True
    assert view["quiet_hours"] == {"start": "22:00:00", "end": "07:00:00"}
    assert (
        await client.get("/notifications/me/preferences", headers=me)
    ).json() == view

    warning = {
        "relationship_id": "r3",
        "mentor_id": "mentor-3",
        "mentee_id": "mentee-3",
        "level": "idle",
        "reasons": [],
    }
    await _told(
        app,
        kafka_bootstrap,
        [
            event("insights", "EarlyWarningRaised", "r3", warning, tenant=tenant),
            proposed(tenant, "mentor-3", "mentee-3"),
        ],
    )
    kinds = [i["kind"] for i in (await inbox(client, tenant, "mentee-3"))["items"]]
    assert kinds == ["pairing_proposed"]  # the nudge was silenced, the proposal not
    mentor = [i["kind"] for i in (await inbox(client, tenant, "mentor-3"))["items"]]
    assert sorted(mentor) == ["early_warning", "pairing_proposed"]


async def test_bad_preferences_are_refused_and_change_nothing(
    notifications, kafka_bootstrap, tenant
):
    _app, client = notifications
    me = person_token(tenant, "mentee-4")
    before = (await client.get("/notifications/me/preferences", headers=me)).json()
    for body in (
        {"channels": ["pigeon"]},
        {"locale": "xx"},
        {"quiet_hours": {"start": "08:00", "end": "08:00"}},
        {"quiet_hours": {"start": "25:00", "end": "08:00"}},
        {"email": "not an address"},
        {"email": "a\x00@b.c"},
        {"unsubscribed": True, "surprise": 1},
        {"channels": ["email"] * 5},
        {"email": "a@" + "b" * 1_000_000},
    ):
        resp = await client.put("/notifications/me/preferences", json=body, headers=me)
        assert resp.status_code in (413, 422), (body, resp.text)
        assert (
            await client.get("/notifications/me/preferences", headers=me)
        ).json() == before
    async with _app.state.runtime.engine.connect() as conn:
        assert (
            await conn.scalar(text("SELECT count(*) FROM notification_preferences"))
            == 0
        )


async def test_saving_preferences_without_an_address_keeps_it_null_clears_it(
    notifications, tenant
):
    """A person connected to Slack and Teams who later saves a choice without
    re-sending their addresses (turning the daily digest on, email off) stays
    connected; an address sent as null is disconnected, the other kept."""
    _app, client = notifications
    me = person_token(tenant, "mentee-5")
    url = "/notifications/me/preferences"
    connected = {
        "channels": ["email", "slack", "teams"],
        "email": "m5@acme.example",
        "slack_webhook": "https://hooks.slack.com/services/T0/B0/x",
        "teams_webhook": "https://acme.webhook.office.com/webhookb2/x",
        "locale": "de",
    }
    resp = await client.put(url, json=connected, headers=me)
    assert resp.status_code == 200, resp.text
    assert resp.json()["slack_connected"] and resp.json()["teams_connected"]

    resp = await client.put(
        url,
        json={"channels": ["slack", "teams"], "daily_digest": True},
        headers=me,
    )
    assert resp.status_code == 200, resp.text
    kept = (await client.get(url, headers=me)).json()
    assert kept == resp.json()
    assert (kept["slack_connected"], kept["teams_connected"]) == (True, True)
    assert kept["channels"] == ["in_app", "slack", "teams"]
    assert kept["daily_digest"] is True
    assert (kept["email"], kept["locale"]) == ("m5@acme.example", "de")

    resp = await client.put(url, json={"slack_webhook": None}, headers=me)
    assert resp.status_code == 200, resp.text
    cleared = (await client.get(url, headers=me)).json()
    assert (cleared["slack_connected"], cleared["teams_connected"]) == (False, True)
    assert cleared["daily_digest"] is True and cleared["email"] == "m5@acme.example"

    # What may not be cleared is refused, and changes nothing.
    for body in ({"channels": None}, {"locale": None}, {"daily_digest": None}):
        resp = await client.put(url, json=body, headers=me)
        assert resp.status_code == 422, (body, resp.text)
        assert (await client.get(url, headers=me)).json() == cleared
