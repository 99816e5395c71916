"""A programme's history tells nobody, end to end on real Kafka and PostgreSQL:
matching and sessions import last year's programme (pairings proposed unscored,
approved, confirmed, one of them concluded; the relationships' contracts, sessions
held, cancelled and missed, milestones and feedback), notifications follows every
event they publish, and nobody hears of any of it: no inbox entry, no email, no
webhook message to the organisation's integrator, and the sweep owes nothing. Then
one live event (a session scheduled for the running pair) is told as ever, in the
inbox, by email and to the integrator: the silence was the history's, not a broken
pipe.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from chassis.events import RecordedEvent
from chassis.service import mounted
from services.notifications.application.scheduler import Scheduler
from tests.invariants.matching_helpers import build_org
from tests.matching.conftest import matching  # noqa: F401  (fixture)
from tests.matching.test_history_import import outcomes, pairing, run, running
from tests.notifications.conftest import (
    event,
    inbox,
    person_token,
    publish,
    until_applied,
)
from tests.notifications.receivers import http_receiver, smtp_receiver
from tests.profiles.conftest import token
from tests.sessions.conftest import sessions  # noqa: F401  (fixture)
from tests.support.waiting import until

pytestmark = pytest.mark.kafka

TODAY = datetime.now(UTC).date()


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


def at(offset_days: int, hour: int = 9) -> str:
    d = day(offset_days)
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC).isoformat()


def sessions_history(ended: str, still: str) -> dict:
    """The relationships' past: a year that ended 30 days ago, and the first ten
    days of one still running."""
    return {
        "format": "tandem.programme-history/1",
        "contracts": [
            {
                "key": "C-ended",
                "relationship_id": ended,
                "every_days": 14,
                "minutes": 60,
                "objectives": ["Lead the board review", "Build the successor bench"],
                "signed_on": day(-195).isoformat(),
            },
            {
                "key": "C-running",
                "relationship_id": still,
                "every_days": 14,
                "minutes": 60,
                "objectives": ["Run the quarterly forecast"],
                "signed_on": day(-10).isoformat(),
            },
        ],
        "sessions": [
            {
                "key": "S1",
                "relationship_id": ended,
                "starts_at": at(-190),
                "minutes": 60,
                "status": "held",
            },
            {
                "key": "S2",
                "relationship_id": ended,
                "starts_at": at(-176),
                "minutes": 45,
                "status": "cancelled",
            },
            {
                "key": "S3",
                "relationship_id": ended,
                "starts_at": at(-162),
                "minutes": 60,
                "status": "missed",
                "absent": "mentee",
            },
            {
                "key": "S4",
                "relationship_id": ended,
                "starts_at": at(-60),
                "minutes": 60,
                "status": "held",
            },
            {
                "key": "S5",
                "relationship_id": still,
                "starts_at": at(-3),
                "minutes": 60,
                "status": "held",
            },
        ],
        "milestones": [
            {
                "key": "M1",
                "relationship_id": ended,
                "objective_index": 0,
                "label": "Board review led",
                "set_on": day(-185).isoformat(),
                "due_on": day(-100).isoformat(),
                "achieved_on": day(-110).isoformat(),
            },
            {
                "key": "M2",
                "relationship_id": ended,
                "objective_index": 1,
                "label": "Two successors named",
                "set_on": day(-150).isoformat(),
                "due_on": day(-40).isoformat(),
            },
        ],
        "feedback": [
            {
                "key": "F1",
                "relationship_id": ended,
                "from": "mentee",
                "about": "session",
                "session": "S1",
                "rating": 4,
                "given_at": at(-189, 10),
            }
        ],
    }


async def _published(app, tenant: str) -> list[RecordedEvent]:
    """Every event of ``tenant`` in the service's store (its log, in order)."""
    store = mounted(app).runtime.store
    found: list[RecordedEvent] = []
    after = None
    while True:
        batch = await (store.read_log(after) if after else store.read_log())
        if not batch:
            return [e for e in found if e.tenant == tenant]
        found += batch
        after = batch[-1].position


async def _rows(app, sql: str, tenant: str) -> list:
    async with app.state.runtime.engine.connect() as conn:
        return list(await conn.execute(text(sql), {"t": tenant}))


async def test_importing_a_programmes_history_tells_nobody_anything(
    matching,  # noqa: F811
    sessions,  # noqa: F811
    notifications_with,
    kafka_bootstrap,
    tmp_path,
):
    m_app, m = matching
    s_app, s = sessions
    org = await build_org(m_app, seats=[2], mentees=2)
    tenant = org.tenant
    mentor, first, second = org.mentors[0], org.mentees[0], org.mentees[1]
    people = (mentor, first, second)
    with smtp_receiver(tmp_path) as smtp, http_receiver() as hook:
        settings = {
            "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
            "NOTIFICATIONS_SMTP_PORT": smtp.port,
            "NOTIFICATIONS_SMTP_CA_FILE": str(smtp.ca_file),
            "NOTIFICATIONS_SMTP_FROM": "programme@acme.example",
            "NOTIFICATIONS_WEBHOOK_ALLOW_HTTP": True,
        }
        async with notifications_with(**settings) as (n_app, n):
            # Everyone reads email; the organisation's integrator takes every type.
            for person in people:
                chosen = await n.put(
                    "/notifications/me/preferences",
                    json={"channels": ["email"], "email": f"{person}@acme.example"},
                    headers=person_token(tenant, person),
                )
                assert chosen.status_code == 200, chosen.text
            registered = await n.post(
                "/webhooks/endpoints",
                json={"url": hook.url("/integrator")},
                headers=token(tenant, "integration", sub="hris-1"),
            )
            assert registered.status_code == 201, registered.text

            # Matching's part: one pairing concluded 30 days ago, one running.
            job = await run(
                m,
                org,
                [
                    pairing(
                        org,
                        "P-ended",
                        0,
                        0,
                        approved_on=day(-200).isoformat(),
                        starts_on=day(-195).isoformat(),
                        ended_on=day(-30).isoformat(),
                    ),
                    running(
                        org,
                        "P-running",
                        0,
                        1,
                        approved_on=day(-12).isoformat(),
                        starts_on=day(-10).isoformat(),
                    ),
                ],
            )
            seen = await outcomes(m, org, job)
            ended, still = seen["P-ended"]["id"], seen["P-running"]["id"]

            # Sessions' part, once sessions knows both relationships (and that the
            # ended one ended).
            async def known() -> bool:
                async with mounted(s_app).runtime.engine.connect() as conn:
                    rows = await conn.execute(
                        text(
                            "SELECT relationship_id, state FROM relationships "
                            "WHERE relationship_id IN (:a, :b)"
                        ),
                        {"a": ended, "b": still},
                    )
                    states = {r.relationship_id: r.state for r in rows}
                return states.get(ended) == "concluded" and still in states

            await until(known, "sessions to know both relationships", 90)
            coordinator = token(tenant, "coordinator", sub="coord-1")
            imported = await s.post(
                "/sessions/history-imports",
                params={"wait": "true"},
                json=sessions_history(ended, still),
                headers=coordinator,
            )
            assert imported.status_code == 200, imported.text
            assert imported.json()["status"] == "succeeded", imported.json()
            counts = imported.json()["counts"]
            assert {k: (v["created"], v["failed"]) for k, v in counts.items()} == {
                "contracts": (2, 0),
                "sessions": (5, 0),
                "milestones": (2, 0),
                "feedback": (1, 0),
                "check_ins": (0, 0),
            }, counts

            # notifications has applied every event of the history it follows.
            follows = set(n_app.state.runtime.consumer.handlers)
            history = [
                e
                for app in (m_app, s_app)
                for e in await _published(app, tenant)
                if e.event_type in follows
            ]
            kinds = {e.event_type for e in history}
            assert {
                "PairingProposed",
                "PairingApproved",
                "PairingConfirmed",
                "RelationshipStarted",
                "RelationshipConcluded",
                "SessionScheduled",
                "SessionHeld",
                "MilestoneSet",
            } <= kinds, kinds
            await until_applied(n_app, [str(e.id) for e in history], 120)

            # Nobody was told anything, by any channel; the integrator heard nothing.
            for person in people:
                page = await inbox(n, tenant, person)
                assert (page["items"], page["unread"]) == ([], 0), person
            assert (
                await _rows(n_app, "SELECT * FROM deliveries WHERE tenant = :t", tenant)
                == []
            )
            assert (
                await _rows(
                    n_app, "SELECT * FROM webhook_deliveries WHERE tenant = :t", tenant
                )
                == []
            )
            # The sweep owes nothing today: the running pair met three days ago.
            scheduler = n_app.state.service.provide(Scheduler)
            assert await scheduler.sweep_tenant(tenant, datetime.now(UTC)) == 0

            # A live event after the history is told as ever: inbox, email, webhook.
            session = f"live-{uuid.uuid4().hex[:8]}"
            starts = (datetime.now(UTC) + timedelta(days=2)).isoformat()
            [live] = await publish(
                kafka_bootstrap,
                [
                    event(
                        "sessions",
                        "SessionScheduled",
                        session,
                        {
                            "session_id": session,
                            "relationship_id": still,
                            "starts_at": starts,
                            "minutes": 60,
                            "scheduled_by": mentor,
                        },
                        tenant=tenant,
                    )
                ],
            )
            await until_applied(n_app, [live])
            page = await inbox(n, tenant, second)
            assert [i["kind"] for i in page["items"]] == ["session_scheduled"]

            async def told() -> bool:
                return bool(smtp.mailbox.messages) and bool(hook.at("/integrator"))

            await until(told, "the live session's email and webhook", 60)

    # Only the live session went out: one email (the mentee's), one webhook.
    assert [msg["To"] for msg in smtp.mailbox.messages] == [f"{second}@acme.example"]
    bodies = [r.json() for r in hook.at("/integrator")]
    assert [(b["type"], b["data"]["session_id"]) for b in bodies] == [
        ("session.scheduled", session)
    ]
