"""Slack (Block Kit) and Teams (Adaptive Card) messages, posted to a real HTTP
receiver on loopback and checked against the documented payload shapes."""

from __future__ import annotations

from tests.notifications.conftest import person_token, proposed, publish, until_applied
from tests.notifications.receivers import http_receiver
from tests.support.waiting import until

PORTAL = "https://portal.acme.example"


def _settings(**more: object) -> dict[str, object]:
    return {
        "NOTIFICATIONS_WEBHOOK_HOSTS": "127.0.0.1",
        "NOTIFICATIONS_WEBHOOK_ALLOW_HTTP": True,
        "NOTIFICATIONS_PORTAL_URL": PORTAL,
        "NOTIFICATIONS_RETRY_BASE_S": 0.05,
        **more,
    }


async def _connect(client, tenant, person, **chosen) -> None:
    resp = await client.put(
        "/notifications/me/preferences",
        json=chosen,
        headers=person_token(tenant, person),
    )
    assert resp.status_code == 200, resp.text
    view = resp.json()
    # the webhook URLs hold a secret: never shown back
    assert "slack_webhook" not in view and "teams_webhook" not in view


def _assert_block_kit(payload: dict) -> None:
    """Slack's incoming-webhook message: ``text`` fallback plus ``blocks``."""
    assert isinstance(payload["text"], str) and payload["text"]
    header, section, *rest = payload["blocks"]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    assert len(header["text"]["text"]) <= 150
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert len(section["text"]["text"]) <= 3000
    for block in rest:
        assert block["type"] == "actions" and 1 <= len(block["elements"]) <= 25
        ids = [e["action_id"] for e in block["elements"]]
        assert len(ids) == len(set(ids))
        for element in block["elements"]:
            assert element["type"] == "button"
            assert element["text"]["type"] == "plain_text"
            assert element["url"].startswith("https://")
            assert element.get("style", "primary") in ("primary", "danger")


def _assert_adaptive_card(payload: dict) -> dict:
    """Teams' incoming-webhook message: one Adaptive Card attachment."""
    assert payload["type"] == "message"
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert all(b["type"] == "TextBlock" and b["text"] for b in card["body"])
    for action in card.get("actions", []):
        assert action["type"] == "Action.OpenUrl" and action["url"].startswith("https")
    return card


async def test_slack_and_teams_get_their_own_shapes_with_action_buttons(
    notifications_with, kafka_bootstrap, tenant
):
    with http_receiver() as hooks:
        async with notifications_with(**_settings()) as (app, client):
            await _connect(
                client,
                tenant,
                "mentee-1",
                channels=["slack"],
                slack_webhook=hooks.url("/slack/T1/B1/secret"),
            )
            await _connect(
                client,
                tenant,
                "mentor-1",
                channels=["teams"],
                locale="fr",
                teams_webhook=hooks.url("/teams/abc"),
            )
            msg = proposed(tenant, "mentor-1", "mentee-1", pairing_id="pc1")
            await until_applied(app, await publish(kafka_bootstrap, [msg, msg]))
            await until(lambda: len(hooks.received) >= 2, "two posts", 30)

            (slack,) = hooks.at("/slack/T1/B1/secret")
            assert slack.headers["content-type"] == "application/json"
            payload = slack.json()
            _assert_block_kit(payload)
            assert payload["text"] == "You have a proposed mentoring pairing"
            buttons = payload["blocks"][2]["elements"]
            assert [b["text"]["text"] for b in buttons] == ["Accept", "Decline"]
            assert buttons[0]["url"] == f"{PORTAL}/pairings/pc1?answer=accept"

            (teams,) = hooks.at("/teams/abc")
            card = _assert_adaptive_card(teams.json())
            assert card["body"][0]["text"] == "Un binôme de mentorat vous est proposé"
            assert [a["title"] for a in card["actions"]] == ["Accept", "Decline"]
            assert len(hooks.received) == 2  # the redelivery posted nothing more


async def test_a_failing_webhook_is_retried_and_never_holds_up_another(
    notifications_with, kafka_bootstrap, tenant
):
    with http_receiver() as hooks:
        hooks.status["/slack/broken"] = 500
        settings = _settings(NOTIFICATIONS_RETRY_MAX_ATTEMPTS=3)
        async with notifications_with(**settings) as (app, client):
            await _connect(
                client,
                tenant,
                "mentee-2",
                channels=["slack"],
                slack_webhook=hooks.url("/slack/broken"),
            )
            await _connect(
                client,
                tenant,
                "mentor-2",
                channels=["slack"],
                slack_webhook=hooks.url("/slack/fine"),
            )
            msg = proposed(tenant, "mentor-2", "mentee-2")
            await until_applied(app, await publish(kafka_bootstrap, [msg]))
            await until(lambda: len(hooks.at("/slack/broken")) >= 3, "3 tries", 30)
            assert len(hooks.at("/slack/fine")) == 1


async def test_only_allowed_webhook_hosts_over_https_are_accepted(
    notifications_with, tenant
):
    async with notifications_with(NOTIFICATIONS_WEBHOOK_HOSTS="hooks.slack.com") as (
        _app,
        client,
    ):
        me = person_token(tenant, "mentee-3")
        for url in (
            "http://hooks.slack.com/services/x",  # not https
            "https://169.254.169.254/latest/meta-data",  # not an allowed host
            "https://hooks.slack.com.evil.example/x",
            "https://user:pw@hooks.slack.com/x",
            "not a url",
        ):
            resp = await client.put(
                "/notifications/me/preferences",
                json={"channels": ["slack"], "slack_webhook": url},
                headers=me,
            )
            assert resp.status_code == 422, (url, resp.text)
        ok = await client.put(
            "/notifications/me/preferences",
            json={"channels": ["slack"], "slack_webhook": "https://hooks.slack.com/x"},
            headers=me,
        )
        assert ok.status_code == 200 and ok.json()["slack_connected"] is True
