"""Signed action links inside the sweep's messages (issue 21): a session reminder
carries "Confirm session", a match-quality pulse and an inactivity warning carry
"Keep it open"; in the email (lines at its end) and as Slack buttons, each for its
recipient. Followed with the service's own action endpoint, they work: the session's
owner (sessions, here a loopback receiver checking whom it is asked by) is asked to
record it held; keeping open is done by notifications itself, once.

Real SMTP (STARTTLS) and HTTP receivers on loopback, real PostgreSQL and Kafka.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from services.notifications.application.scheduler import Scheduler
from tests.gateway.platform import served
from tests.notifications.conftest import event, person_token, publish, until_applied
from tests.notifications.receivers import http_receiver, smtp_receiver
from tests.notifications.test_action_links import Owner
from tests.support.waiting import until

pytestmark = pytest.mark.kafka
BASE = "https://notify.acme.example"
LINK = re.compile(re.escape(BASE) + r"/notifications/act/([A-Za-z0-9_\-.]+)")


def _started(tenant: str, rid: str, mentor: str, mentee: str, days_ago: int):
    starts_on = datetime.now(UTC).date() - timedelta(days=days_ago)
    data = {
        "relationship_id": rid,
        "pairing_id": rid,
        "mentor_id": mentor,
        "mentee_id": mentee,
        "starts_on": starts_on.isoformat(),
        "planned_end_on": (starts_on + timedelta(days=365)).isoformat(),
    }
    return event("sessions", "RelationshipStarted", rid, data, tenant=tenant)


def _scheduled(tenant: str, rid: str, session: str, starts_at: datetime):
    data = {
        "session_id": session,
        "relationship_id": rid,
        "starts_at": starts_at.isoformat(),
        "minutes": 60,
        "format": "one_to_one",
        "scheduled_by": "mentor-l",
    }
    return event("sessions", "SessionScheduled", session, data, tenant=tenant)


def _buttons(payload: dict) -> list[dict]:
    return [
        element
        for block in payload["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


async def test_reminders_pulses_and_warnings_carry_links_that_work(
    notifications_with, kafka_bootstrap, tenant, tmp_path
):
    owner = Owner()
    with smtp_receiver(tmp_path) as smtp, http_receiver() as hooks:
        async with (
            served(owner.app) as sessions_url,
            notifications_with(
                NOTIFICATIONS_SMTP_HOST="127.0.0.1",
                NOTIFICATIONS_SMTP_PORT=smtp.port,
                NOTIFICATIONS_SMTP_CA_FILE=str(smtp.ca_file),
                NOTIFICATIONS_WEBHOOK_HOSTS="127.0.0.1",
                NOTIFICATIONS_WEBHOOK_ALLOW_HTTP=True,
                NOTIFICATIONS_ACTION_BASE_URL=BASE,
                SESSIONS_URL=sessions_url,
                MATCHING_URL=sessions_url,
            ) as (app, client),
        ):
            resp = await client.put(
                "/notifications/me/preferences",
                json={
                    "channels": ["email", "slack"],
                    "email": "lin@acme.example",
                    "slack_webhook": hooks.url("/slack/lin"),
                },
                headers=person_token(tenant, "mentee-l"),
            )
            assert resp.status_code == 200, resp.text
            rid = "rel-links-1"
            now = datetime.now(UTC)
            ids = await publish(
                kafka_bootstrap,
                [
                    _started(tenant, rid, "mentor-l", "mentee-l", 31),
                    _scheduled(tenant, rid, "sess-l", now + timedelta(hours=20)),
                ],
            )
            await until_applied(app, ids)
            scheduler = app.state.service.provide(Scheduler)
            # 31 days in: the pulse, the inactivity warning, and tomorrow's session
            # (besides the session's own scheduling, told with its event: no link).
            await scheduler.sweep_tenant(tenant, now)

            mails = await until(
                lambda: (
                    (m := smtp.mailbox.to("lin@acme.example")) and len(m) >= 4 and m
                ),
                "the four emails",
                30,
            )
            posts = await until(
                lambda: (p := hooks.at("/slack/lin")) and len(p) >= 4 and p,
                "the four Slack messages",
                30,
            )
            emails = {m["Subject"]: m.get_content() for m in mails}
            slack = [p.json() for p in posts]

            def email_links(title: str) -> list[str]:
                found = [
                    LINK.findall(line)
                    for body in emails.values()
                    for line in body.splitlines()
                    if line.startswith(f"{title}: ")
                ]
                return [t for tokens in found for t in tokens]

            confirm_mail = email_links("Confirm session")
            keep_mail = email_links("Keep it open") + email_links(
                "Going well: keep it open"
            )
            assert len(confirm_mail) == 1 and len(keep_mail) == 2, emails
            titles = sorted(b["text"]["text"] for p in slack for b in _buttons(p))
            assert titles == [
                "Confirm session",
                "Going well: keep it open",
                "Keep it open",
            ]
            for p in slack:
                for b in _buttons(p):
                    assert LINK.fullmatch(b["url"]), b["url"]

            # The reminder's link: sessions is asked, as the recipient, once.
            preview = await client.get("/notifications/act/" + confirm_mail[0])
            assert preview.status_code == 200 and owner.calls == []
            done = await client.post("/notifications/act/" + confirm_mail[0])
            assert done.status_code == 200, done.text
            [(_, path, body, claims)] = owner.calls
            assert path == "/sessions/sess-l/held" and body == {}
            assert claims["sub"] == "mentee-l" and claims["tenant"] == tenant
            again = await client.post("/notifications/act/" + confirm_mail[0])
            assert again.status_code == 410

            # The pulse's button (Slack): the relationship is kept open, here.
            [pulse_button] = [
                b
                for p in slack
                for b in _buttons(p)
                if b["text"]["text"] == "Going well: keep it open"
            ]
            token = LINK.fullmatch(pulse_button["url"]).group(1)  # type: ignore[union-attr]
            kept = await client.post("/notifications/act/" + token)
            assert kept.status_code == 200, kept.text
            assert kept.json()["action"] == "keep_open"
            async with app.state.runtime.engine.connect() as conn:
                row = (
                    await conn.execute(
                        text(
                            "SELECT answered_at, warned_at FROM notification_schedule "
                            "WHERE tenant = :t AND relationship_id = :r"
                        ),
                        {"t": tenant, "r": rid},
                    )
                ).one()
            assert row.answered_at is not None and row.warned_at is None
            assert (await client.post("/notifications/act/" + token)).status_code == 410
            assert len(owner.calls) == 1  # keeping open never left the service
            # Answered: a week later the relationship is not closed.
            await scheduler.sweep_tenant(tenant, now + timedelta(days=8))
            async with app.state.runtime.engine.connect() as conn:
                state = await conn.scalar(
                    text(
                        "SELECT state FROM notification_schedule "
                        "WHERE tenant = :t AND relationship_id = :r"
                    ),
                    {"t": tenant, "r": rid},
                )
            assert state == "active"


async def test_a_keep_open_link_of_someone_outside_the_pair_is_refused(
    notifications_with, kafka_bootstrap, tenant
):
    from services.notifications.application.actions import ActionLinks
    from services.notifications.domain.actions import Action

    async with notifications_with() as (app, client):
        rid = "rel-links-2"
        await until_applied(
            app,
            await publish(
                kafka_bootstrap, [_started(tenant, rid, "mentor-m", "mentee-m", 5)]
            ),
        )
        links = app.state.service.provide(ActionLinks)
        url = links.mint(tenant, "stranger", "participant", Action.KEEP_OPEN, rid)
        refused = await client.post("/notifications/act/" + url.rsplit("/", 1)[1])
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "ActionRefused"
        async with app.state.runtime.engine.connect() as conn:
            answered = await conn.scalar(
                text(
                    "SELECT answered_at FROM notification_schedule "
                    "WHERE tenant = :t AND relationship_id = :r"
                ),
                {"t": tenant, "r": rid},
            )
        assert answered is None
