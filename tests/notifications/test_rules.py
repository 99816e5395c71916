"""The time-based rules: decided as of a moment (domain), then swept over what the
service kept from events on the real broker, told once whatever the re-sweeps, and
edited by a coordinator over REST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text

from contracts.notifications import NotificationKind as Kind
from services.notifications.application.scheduler import Scheduler
from services.notifications.domain import rules as decide
from services.notifications.domain.rules import Relationship, Rules
from tests.notifications.conftest import (
    event,
    inbox,
    person_token,
    publish,
    until_applied,
)
from tests.profiles.conftest import token

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DEFAULTS = Rules()


def rel(**kw) -> Relationship:
    return Relationship("r1", "mentor", "mentee", started_at=T0, **kw)


# -- domain ---------------------------------------------------------------------------


def test_quiet_for_the_limit_warns_the_pair_once_per_sign_of_life():
    r = rel()
    assert decide.inactivity(r, DEFAULTS, T0 + timedelta(days=29)).warn is None
    step = decide.inactivity(r, DEFAULTS, T0 + timedelta(days=30))
    assert step.warn is not None and step.warn.kind == Kind.INACTIVITY_WARNING
    assert step.warn.recipients == ("mentor", "mentee")
    later = decide.inactivity(r, DEFAULTS, T0 + timedelta(days=31)).warn
    assert later is not None and later.key == step.warn.key  # the same occurrence


def test_an_unanswered_warning_closes_after_the_notice_and_an_answer_cancels_it():
    warned = T0 + timedelta(days=30)
    r = rel(warned_at=warned, warned_for=T0)
    assert decide.inactivity(r, DEFAULTS, warned + timedelta(days=6)) == (
        decide.Inactivity()
    )
    assert decide.inactivity(r, DEFAULTS, warned + timedelta(days=7)).close
    answered = rel(warned_at=warned, warned_for=T0, answered_at=warned)
    assert decide.inactivity(answered, DEFAULTS, warned + timedelta(days=8)).cancelled
    held = rel(warned_at=warned, warned_for=T0, last_held_at=warned)
    assert decide.inactivity(held, DEFAULTS, warned + timedelta(days=8)).cancelled
    paused = rel(state="paused")
    assert decide.inactivity(paused, DEFAULTS, T0 + timedelta(days=90)).warn is None


def test_the_pulse_comes_at_30_days_then_every_60():
    r = rel()
    assert decide.pulse(r, DEFAULTS, T0 + timedelta(days=29)) is None
    keys = {
        d: decide.pulse(r, DEFAULTS, T0 + timedelta(days=d)).key  # type: ignore[union-attr]
        for d in (30, 89, 90, 149, 150)
    }
    assert keys[30] == keys[89] != keys[90] == keys[149] != keys[150]


def test_session_milestone_cadence_and_persisting_warning_windows():
    start = T0 + timedelta(hours=30)
    pair = ("mentor", "mentee")
    assert decide.session_tomorrow("s", "r1", start, pair, DEFAULTS, T0) is None
    soon = decide.session_tomorrow(
        "s", "r1", start, pair, DEFAULTS, T0 + timedelta(hours=7)
    )
    assert soon is not None and soon.recipients == pair
    due = date(2026, 1, 12)
    assert (
        decide.milestone_due("m", "r1", "mentee", due, DEFAULTS, T0 - timedelta(days=1))
        is None
    )
    told = decide.milestone_due("m", "r1", "mentee", due, DEFAULTS, T0)
    assert told is not None and told.recipients == ("mentee",)
    assert (
        decide.cadence_missed(rel(cadence_days=14), DEFAULTS, T0 + timedelta(days=16))
        is None
    )
    assert decide.cadence_missed(
        rel(cadence_days=14), DEFAULTS, T0 + timedelta(days=17)
    )
    assert decide.cadence_missed(rel(), DEFAULTS, T0 + timedelta(days=99)) is None
    c = ("coord",)
    assert (
        decide.warning_persists("r1", T0, c, DEFAULTS, T0 + timedelta(days=6)) is None
    )
    assert decide.warning_persists("r1", T0, c, DEFAULTS, T0 + timedelta(days=7))
    off = Rules(inactive_days=0, pulse_first_days=0)
    assert decide.inactivity(rel(), off, T0 + timedelta(days=99)).warn is None
    assert decide.pulse(rel(), off, T0 + timedelta(days=99)) is None


# -- the sweep over what the service kept -----------------------------------------------


def _started(tenant: str, rid: str, mentor: str, mentee: str, starts_on: date):
    data = {
        "relationship_id": rid,
        "pairing_id": rid,
        "mentor_id": mentor,
        "mentee_id": mentee,
        "starts_on": starts_on.isoformat(),
        "planned_end_on": (starts_on + timedelta(days=365)).isoformat(),
    }
    return event("sessions", "RelationshipStarted", rid, data, tenant=tenant)


def _kinds(page: dict) -> list[str]:
    return sorted(item["kind"] for item in page["items"])


async def test_the_sweep_tells_each_rule_once_whatever_the_resweeps(
    notifications, kafka_bootstrap, tenant
):
    app, client = notifications
    now = datetime.now(UTC)
    rid = "rel-rules-1"
    tomorrow = now + timedelta(hours=30)
    ids = await publish(
        kafka_bootstrap,
        [
            _started(
                tenant, rid, "mentor-r", "mentee-r", now.date() - timedelta(days=40)
            ),
            event(
                "sessions",
                "ContractDrafted",
                rid,
                {
                    "relationship_id": rid,
                    "version": 1,
                    "cadence": {"every_days": 14, "minutes": 60},
                    "hours_per_month": 2,
                    "objectives": 1,
                },
                tenant=tenant,
            ),
            event(
                "sessions",
                "SessionScheduled",
                "s-1",
                {
                    "session_id": "s-1",
                    "relationship_id": rid,
                    "starts_at": tomorrow.isoformat(),
                    "minutes": 60,
                    "format": "one_to_one",
                    "scheduled_by": "mentor-r",
                },
                tenant=tenant,
            ),
            event(
                "sessions",
                "MilestoneSet",
                "m-1",
                {
                    "milestone_id": "m-1",
                    "relationship_id": rid,
                    "mentee_id": "mentee-r",
                    "objective_index": 0,
                    "due_on": (now.date() + timedelta(days=5)).isoformat(),
                    "criteria": 1,
                },
                tenant=tenant,
            ),
            event(
                "insights",
                "EarlyWarningRaised",
                rid,
                {
                    "relationship_id": rid,
                    "mentor_id": "mentor-r",
                    "mentee_id": "mentee-r",
                    "level": "at_risk",
                    "reasons": ["no_session_for_40_days"],
                },
                tenant=tenant,
            ),
            event(
                "profiles",
                "ProgrammeRolesChanged",
                "coord-r",
                {"person_id": "coord-r", "roles": ["coordinator"]},
                tenant=tenant,
            ),
        ],
    )
    await until_applied(app, ids)
    scheduler = app.state.service.provide(Scheduler)
    await scheduler.sweep_tenant(tenant, now)

    mentor = await inbox(client, tenant, "mentor-r")
    mentee = await inbox(client, tenant, "mentee-r")
    # The pair's own early warning came with the event; the sweep adds the rest.
    assert _kinds(mentor) == sorted(
        ["early_warning", "cadence_missed", "inactivity_warning", "match_pulse"]
    )
    assert _kinds(mentee) == sorted(
        [
            "early_warning",
            "cadence_missed",
            "inactivity_warning",
            "match_pulse",
            "milestone_due",
            "session_scheduled",
        ]
    )
    assert (await inbox(client, tenant, "coord-r"))["items"] == []  # not yet 7 days

    # Re-sweeps, now and a bit later: nothing twice.
    assert await scheduler.sweep_tenant(tenant, now) == 0
    later = now + timedelta(hours=8)
    told = await scheduler.sweep_tenant(tenant, later)
    assert told == 2  # the session is within 24 h now: both reminded
    assert "session_tomorrow" in _kinds(await inbox(client, tenant, "mentor-r"))
    assert await scheduler.sweep_tenant(tenant, later + timedelta(hours=1)) == 0
    week = now + timedelta(days=7, minutes=1)
    await scheduler.sweep_tenant(tenant, week)
    coord = await inbox(client, tenant, "coord-r")
    assert _kinds(coord) == ["warning_persists"]
    assert coord["items"][0]["facts"]["relationship_id"] == rid


async def test_rules_are_the_coordinators_and_bad_input_changes_nothing(
    notifications, tenant
):
    _app, client = notifications
    coordinator = token(tenant, "coordinator", sub="coord-1")
    got = await client.get("/notifications/rules", headers=coordinator)
    assert got.status_code == 200, got.text
    assert got.json()["inactive_days"] == 30 and got.json()["notice_days"] == 7
    assert got.json()["pulse_first_days"] == 30 and got.json()["pulse_every_days"] == 60

    mentee = person_token(tenant, "mentee-1")
    assert (await client.get("/notifications/rules", headers=mentee)).status_code == 403
    put = await client.put(
        "/notifications/rules", json={"inactive_days": 90}, headers=mentee
    )
    assert put.status_code == 403

    put = await client.put(
        "/notifications/rules",
        json={"inactive_days": 90, "notice_days": 14},
        headers=coordinator,
    )
    assert put.status_code == 200, put.text
    assert put.json()["inactive_days"] == 90 and put.json()["milestone_due_days"] == 7
    for bad in ({"notice_days": 0}, {"inactive_days": -1}, {"surprise": 1}):
        refused = await client.put(
            "/notifications/rules", json=bad, headers=coordinator
        )
        assert refused.status_code == 422, bad
    again = (await client.get("/notifications/rules", headers=coordinator)).json()
    assert (again["inactive_days"], again["notice_days"]) == (90, 14)
    other = token(f"{tenant}-x", "coordinator", sub="coord-2")
    assert (await client.get("/notifications/rules", headers=other)).json()[
        "inactive_days"
    ] == 30


async def test_only_a_member_of_the_pair_keeps_a_relationship_open(
    notifications, kafka_bootstrap, tenant
):
    app, client = notifications
    rid = "rel-keep-1"
    start = datetime.now(UTC).date() - timedelta(days=31)
    await until_applied(
        app, await publish(kafka_bootstrap, [_started(tenant, rid, "mr", "me", start)])
    )
    url = f"/notifications/relationships/{rid}/keep-open"
    stranger = await client.post(url, headers=person_token(tenant, "someone"))
    assert stranger.status_code == 404
    missing = await client.post(
        "/notifications/relationships/nope/keep-open",
        headers=person_token(tenant, "me"),
    )
    assert missing.status_code == 404
    async with app.state.runtime.engine.connect() as conn:
        untouched = await conn.scalar(
            text(
                "SELECT answered_at FROM notification_schedule "
                "WHERE tenant = :t AND relationship_id = :r"
            ),
            {"t": tenant, "r": rid},
        )
    assert untouched is None

    scheduler = app.state.service.provide(Scheduler)
    await scheduler.sweep_tenant(tenant, datetime.now(UTC))
    assert "inactivity_warning" in _kinds(await inbox(client, tenant, "mr"))
    kept = await client.post(url, headers=person_token(tenant, "me"))
    assert kept.status_code == 200, kept.text
    assert kept.json()["warning_cancelled"] is True
    # A week and a day later: answered, so not closed (and no new warning yet).
    assert (
        await scheduler.sweep_tenant(tenant, datetime.now(UTC) + timedelta(days=8)) == 0
    )
