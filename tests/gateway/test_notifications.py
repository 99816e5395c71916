"""Notifications through the gateway, on the whole platform over HTTP with real Kafka
and PostgreSQL: a person's inbox (pages, unread count, read marks), their
preferences, live notifications, and a tenant's webhook endpoints."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from chassis.auth import Role
from tests.gateway.platform import new_tenant, token
from tests.gateway.test_matching import gid, subscribe, until_listening
from tests.notifications.conftest import proposed, publish
from tests.support.waiting import until

pytestmark = pytest.mark.asyncio(loop_scope="module")

INBOX = """
query($first: Int, $after: String, $unread: Boolean!) {
  myNotifications(first: $first, after: $after, unreadOnly: $unread) {
    unreadCount pageInfo { hasNextPage endCursor }
    edges { node { id kind subjectId facts read readAt createdAt } } } }
"""
MARK = """
mutation($ids: [ID!]) { markNotificationsRead(input: {notificationIds: $ids}) {
  __typename ... on MarkNotificationsReadSuccess { marked }
  ... on Error { code message }
  ... on ValidationError { fields { path message } } } }
"""


def _person() -> str:
    return f"p-{uuid.uuid4().hex[:8]}"


async def _inbox(
    platform, bearer: str, first: int | None = None, after=None, unread=False
):
    body = await platform.graphql(
        INBOX, {"first": first, "after": after, "unread": unread}, bearer=bearer
    )
    return body["data"]["myNotifications"]


async def _told(platform, kafka_bootstrap, bearer: str, messages, count: int):
    await publish(kafka_bootstrap, messages)

    async def arrived():
        page = await _inbox(platform, bearer, first=50)
        return page if len(page["edges"]) >= count else None

    return await until(arrived, "the notifications to arrive", 60, interval_s=0.2)


async def test_a_person_pages_their_inbox_and_marks_it_read(platform, kafka_bootstrap):
    tenant, mentee, mentor = new_tenant(), _person(), _person()
    me = token(mentee, tenant, Role.MENTEE)
    page = await _told(
        platform,
        kafka_bootstrap,
        me,
        [proposed(tenant, mentor, mentee, pairing_id=f"pg{n}") for n in range(3)],
        3,
    )
    assert page["unreadCount"] == 3
    nodes = [e["node"] for e in page["edges"]]
    assert {n["kind"] for n in nodes} == {"PAIRING_PROPOSED"}
    assert all(not n["read"] and n["readAt"] is None for n in nodes)
    assert {n["subjectId"] for n in nodes} == {
        gid("Pairing", f"pg{n}") for n in range(3)
    }

    first = await _inbox(platform, me, first=2)
    assert len(first["edges"]) == 2 and first["pageInfo"]["hasNextPage"]
    rest = await _inbox(platform, me, first=2, after=first["pageInfo"]["endCursor"])
    assert len(rest["edges"]) == 1 and not rest["pageInfo"]["hasNextPage"]
    paged = [e["node"]["id"] for e in first["edges"] + rest["edges"]]
    assert paged == [n["id"] for n in nodes]

    # the mentor's copy is theirs: the mentee cannot mark it, and nothing changes
    mentors = await _inbox(platform, token(mentor, tenant, Role.MENTOR), first=1)
    theirs = mentors["edges"][0]["node"]["id"]
    refused = await platform.graphql(MARK, {"ids": [theirs]}, bearer=me)
    assert refused["data"]["markNotificationsRead"]["__typename"] == "NotFound"
    bad = await platform.graphql(MARK, {"ids": [str(uuid.uuid4())]}, bearer=me)
    answer = bad["data"]["markNotificationsRead"]
    assert answer["code"] == "InvalidId"
    assert answer["fields"][0]["path"] == "input.notificationIds.0"
    pairing = await platform.graphql(MARK, {"ids": [gid("Pairing", "pg0")]}, bearer=me)
    assert pairing["data"]["markNotificationsRead"]["code"] == "InvalidId"
    assert (await _inbox(platform, me))["unreadCount"] == 3

    one = await platform.graphql(MARK, {"ids": [nodes[0]["id"]]}, bearer=me)
    assert one["data"]["markNotificationsRead"] == {
        "__typename": "MarkNotificationsReadSuccess",
        "marked": 1,
    }
    after_one = await _inbox(platform, me)
    assert after_one["unreadCount"] == 2
    unread = await _inbox(platform, me, unread=True)
    assert nodes[0]["id"] not in {e["node"]["id"] for e in unread["edges"]}
    everything = await platform.graphql(MARK, {"ids": None}, bearer=me)
    assert everything["data"]["markNotificationsRead"]["marked"] == 2
    assert (await _inbox(platform, me))["unreadCount"] == 0
    assert (await _inbox(platform, token(mentor, tenant, Role.MENTOR)))[
        "unreadCount"
    ] == 3


PREFS = (
    "{ channels unsubscribed quietHours { start end } dailyDigest locale "
    "email slackConnected teamsConnected requiredKinds }"
)
SET_PREFS = (
    "mutation($input: SetNotificationPreferencesInput!) {"
    " setNotificationPreferences(input: $input) { __typename"
    " ... on NotificationPreferencesSuccess { preferences " + PREFS + " }"
    " ... on Error { code } ... on ValidationError { fields { path } } } }"
)


async def test_a_person_chooses_how_they_are_told(platform):
    tenant, person = new_tenant(), _person()
    me = token(person, tenant, Role.MENTOR)
    query = "{ myNotificationPreferences " + PREFS + " }"
    defaults = (await platform.graphql(query, bearer=me))["data"][
        "myNotificationPreferences"
    ]
    assert "IN_APP" in defaults["channels"] and defaults["locale"] == "EN"
    assert set(defaults["requiredKinds"]) == {
        "PAIRING_PROPOSED",
        "PAIRING_CONFIRMED",
        "INACTIVITY_WARNING",
        "RELATIONSHIP_CLOSED",
        "WEBHOOK_DISABLED",
    }

    chosen = {
        "channels": ["IN_APP", "SLACK"],
        "unsubscribed": True,
        "quietHours": {"start": "22:00:00", "end": "07:00:00"},
        "dailyDigest": True,
        "locale": "FR",
        "slackWebhook": "https://hooks.slack.com/services/T0/B0/x",
    }
    body = await platform.graphql(SET_PREFS, {"input": chosen}, bearer=me)
    prefs = body["data"]["setNotificationPreferences"]["preferences"]
    assert prefs["slackConnected"] and not prefs["teamsConnected"]
    assert prefs["locale"] == "FR" and prefs["unsubscribed"] and prefs["dailyDigest"]
    assert prefs["quietHours"]["start"].startswith("22:00")
    again = (await platform.graphql(query, bearer=me))["data"][
        "myNotificationPreferences"
    ]
    assert again == prefs

    wrong = await platform.graphql(
        SET_PREFS, {"input": {**chosen, "email": "not an email"}}, bearer=me
    )
    refused = wrong["data"]["setNotificationPreferences"]
    assert refused["code"] == "ValidationError"
    assert [f["path"] for f in refused["fields"]] == ["input.email"]
    unchanged = (await platform.graphql(query, bearer=me))["data"][
        "myNotificationPreferences"
    ]
    assert unchanged == prefs


async def test_saving_preferences_without_the_slack_address_keeps_it_connected(
    platform,
):
    """The preferences page saves what the person changed: without the Slack and
    Teams addresses (never shown back) they stay connected; null disconnects one."""
    tenant, person = new_tenant(), _person()
    me = token(person, tenant, Role.MENTEE)
    query = "{ myNotificationPreferences " + PREFS + " }"
    connected = {
        "channels": ["IN_APP", "EMAIL", "SLACK", "TEAMS"],
        "email": "me@acme.example",
        "slackWebhook": "https://hooks.slack.com/services/T0/B0/x",
        "teamsWebhook": "https://acme.webhook.office.com/webhookb2/x",
    }
    body = await platform.graphql(SET_PREFS, {"input": connected}, bearer=me)
    assert body["data"]["setNotificationPreferences"]["preferences"]["slackConnected"]

    toggled = {"channels": ["IN_APP", "SLACK", "TEAMS"], "dailyDigest": True}
    body = await platform.graphql(SET_PREFS, {"input": toggled}, bearer=me)
    prefs = body["data"]["setNotificationPreferences"]["preferences"]
    assert (prefs["slackConnected"], prefs["teamsConnected"]) == (True, True)
    assert prefs["email"] == "me@acme.example" and prefs["dailyDigest"] is True
    assert (await platform.graphql(query, bearer=me))["data"][
        "myNotificationPreferences"
    ] == prefs

    body = await platform.graphql(
        SET_PREFS, {"input": {"teamsWebhook": None}}, bearer=me
    )
    prefs = body["data"]["setNotificationPreferences"]["preferences"]
    assert (prefs["slackConnected"], prefs["teamsConnected"]) == (True, False)
    assert prefs["channels"] == ["IN_APP", "SLACK", "TEAMS"]

    refused = await platform.graphql(SET_PREFS, {"input": {"locale": None}}, bearer=me)
    answer = refused["data"]["setNotificationPreferences"]
    assert answer["code"] == "ValidationError"
    assert [f["path"] for f in answer["fields"]] == ["input.locale"]
    assert (await platform.graphql(query, bearer=me))["data"][
        "myNotificationPreferences"
    ] == prefs


LIVE = "subscription { notificationReceived { id kind subjectId read } }"


async def test_a_new_notification_reaches_its_person_live(platform, kafka_bootstrap):
    tenant, mentee, mentor = new_tenant(), _person(), _person()
    before = len(platform.gateway.state.hub._listeners)
    ws = await subscribe(platform, token(mentee, tenant, Role.MENTEE), LIVE, {})
    try:
        await until_listening(platform, before + 1)
        await asyncio.sleep(0.5)  # the subscription has read the (empty) inbox
        await publish(
            kafka_bootstrap, [proposed(tenant, mentor, mentee, pairing_id="lv1")]
        )
        message = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert message["type"] == "next", message
        got = message["payload"]["data"]["notificationReceived"]
        assert got["kind"] == "PAIRING_PROPOSED" and got["read"] is False
        assert got["subjectId"] == gid("Pairing", "lv1")
        # another person's notification does not reach this subscriber
        await publish(kafka_bootstrap, [proposed(tenant, mentor, _person())])
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 3)
    finally:
        await ws.close()


ENDPOINT = "id url eventTypes description enabled disabledReason failingSince createdAt"
REGISTER = (
    "mutation($input: RegisterWebhookEndpointInput!) {"
    " registerWebhookEndpoint(input: $input) { __typename"
    " ... on WebhookSecretSuccess { secret endpoint { " + ENDPOINT + " } }"
    " ... on Error { code } ... on ValidationError { fields { path } } } }"
)
ROTATE = (
    "mutation($id: ID!) { rotateWebhookSecret(input: {endpointId: $id,"
    " overlapSeconds: 60}) { __typename ... on WebhookSecretSuccess { secret }"
    " ... on Error { code } ... on ValidationError { fields { path } } } }"
)
ENABLE = (
    "mutation($id: ID!) { enableWebhookEndpoint(input: {endpointId: $id}) {"
    " __typename ... on WebhookEndpointSuccess { endpoint { enabled } }"
    " ... on Error { code } } }"
)
DELIVERIES = (
    "query($e: ID!) { webhookDeliveries(endpoint: $e) { id eventType status"
    " attempts createdAt log { at statusCode error durationMs } } }"
)
REPLAY = (
    "mutation($id: ID!) { replayWebhookDelivery(input: {deliveryId: $id}) {"
    " __typename ... on ReplayWebhookDeliverySuccess { delivery { id status } }"
    " ... on Error { code } } }"
)


async def test_an_admin_manages_webhook_endpoints_and_reads_deliveries(
    platform, kafka_bootstrap
):
    tenant = new_tenant()
    admin = token("admin-1", tenant, Role.ADMIN)
    mentee = token(_person(), tenant, Role.MENTEE)
    url = "https://hooks.example.invalid/tandem"
    made = {"url": url, "eventTypes": ["PAIRING_PROPOSED"], "description": "HRIS"}

    refused = await platform.graphql(REGISTER, {"input": made}, bearer=mentee)
    assert refused["data"]["registerWebhookEndpoint"]["code"] == "Forbidden"
    listed = await platform.graphql(
        "{ webhookEndpoints { id } }", bearer=mentee, expect_errors=True
    )
    assert listed["errors"][0]["extensions"]["code"] == "Forbidden"
    plain = await platform.graphql(
        REGISTER, {"input": {**made, "url": "http://127.0.0.1/x"}}, bearer=admin
    )
    assert plain["data"]["registerWebhookEndpoint"]["fields"] == [{"path": "input.url"}]
    assert (await platform.graphql("{ webhookEndpoints { id } }", bearer=admin))[
        "data"
    ]["webhookEndpoints"] == []

    body = await platform.graphql(REGISTER, {"input": made}, bearer=admin)
    created = body["data"]["registerWebhookEndpoint"]
    assert created["secret"].startswith("whsec_")
    endpoint = created["endpoint"]
    assert endpoint["eventTypes"] == ["PAIRING_PROPOSED"] and endpoint["enabled"]
    listed = await platform.graphql(
        "{ webhookEndpoints { " + ENDPOINT + " } }", bearer=admin
    )
    assert listed["data"]["webhookEndpoints"] == [endpoint]

    rotated = await platform.graphql(ROTATE, {"id": endpoint["id"]}, bearer=admin)
    secret = rotated["data"]["rotateWebhookSecret"]["secret"]
    assert secret.startswith("whsec_") and secret != created["secret"]
    raw = await platform.graphql(ROTATE, {"id": "ep_123"}, bearer=admin)
    assert raw["data"]["rotateWebhookSecret"]["code"] == "InvalidId"
    other = await platform.graphql(
        ROTATE, {"id": gid("WebhookEndpoint", "ep_nope")}, bearer=admin
    )
    assert other["data"]["rotateWebhookSecret"]["__typename"] == "NotFound"
    enabled = await platform.graphql(ENABLE, {"id": endpoint["id"]}, bearer=admin)
    assert enabled["data"]["enableWebhookEndpoint"]["endpoint"]["enabled"] is True

    await publish(kafka_bootstrap, [proposed(tenant, _person(), _person())])

    async def queued():
        found = await platform.graphql(DELIVERIES, {"e": endpoint["id"]}, bearer=admin)
        return found["data"]["webhookDeliveries"] or None

    deliveries = await until(
        queued, "the webhook message to be queued", 60, interval_s=0.2
    )
    assert len(deliveries) == 1
    delivery = deliveries[0]
    assert delivery["eventType"] == "PAIRING_PROPOSED"
    assert delivery["status"] in ("PENDING", "SENT", "DEAD")
    replayed = await platform.graphql(REPLAY, {"id": delivery["id"]}, bearer=admin)
    again = replayed["data"]["replayWebhookDelivery"]["delivery"]
    assert again["id"] == delivery["id"] and again["status"] == "PENDING"
    theirs = await platform.graphql(REPLAY, {"id": delivery["id"]}, bearer=mentee)
    assert theirs["data"]["replayWebhookDelivery"]["code"] == "Forbidden"
    elsewhere = token("admin-1", new_tenant(), Role.ADMIN)
    gone = await platform.graphql(REPLAY, {"id": delivery["id"]}, bearer=elsewhere)
    assert gone["data"]["replayWebhookDelivery"]["__typename"] == "NotFound"
