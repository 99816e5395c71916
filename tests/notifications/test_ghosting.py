"""The ghosting scenario (issue 21), end to end on real Kafka and PostgreSQL: matching,
sessions and notifications running together.

Two running pairings (brought over from the programme's history, started 20 days ago)
become relationships in sessions, which notifications follows. Nobody meets. The
sweep, driven forward in time: a match-quality pulse at 30 days (a nudge), the
inactivity warning at the organisation's limit (45 days, set by its coordinator),
then, a week later, the pair that did not answer is closed as inactive: matching ends
the pairing with reason ``inactive`` and sessions concludes the relationship with
reason ``inactive`` too. The
other pair answered the warning and stays open.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import text

from chassis.service import mounted
from services.notifications.application.scheduler import Scheduler, stream_of
from tests.invariants.matching_helpers import build_org
from tests.matching.conftest import matching  # noqa: F401  (fixture)
from tests.matching.test_history_import import outcomes, run, running
from tests.notifications.conftest import inbox, person_token
from tests.profiles.conftest import token
from tests.sessions.conftest import sessions  # noqa: F401  (fixture)
from tests.support.waiting import until

pytestmark = pytest.mark.kafka


# What the sweep tells (a programme's history itself tells nobody: test_history_tells_nobody).
SWEPT = {"match_pulse", "inactivity_warning", "relationship_closed", "cadence_missed"}


def _kinds(page: dict) -> list[str]:
    return sorted(item["kind"] for item in page["items"] if item["kind"] in SWEPT)


async def _scheduled(app, tenant: str, rids: list[str]) -> None:
    async def known() -> bool:
        async with app.state.runtime.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT s.relationship_id FROM notification_schedule s JOIN "
                    "notification_relationships r ON r.tenant = s.tenant AND "
                    "r.relationship_id = s.relationship_id WHERE s.tenant = :t "
                    "AND s.started_at IS NOT NULL"
                ),
                {"t": tenant},
            )
            return set(rids) <= {r.relationship_id for r in rows}

    await until(known, "notifications to know both relationships", 90)


async def test_a_quiet_pair_is_nudged_warned_and_closed_another_answers_and_stays(
    matching,  # noqa: F811
    sessions,  # noqa: F811
    notifications,
):
    m_app, m = matching
    s_app, s = sessions
    n_app, n = notifications
    org = await build_org(m_app, seats=[2], mentees=2)
    tenant = org.tenant
    start = datetime.now(UTC).date() - timedelta(days=20)
    job = await run(
        m,
        org,
        [
            running(org, "GHOST", 0, 0, approved_on=str(start), starts_on=str(start)),
            running(org, "KEEP", 0, 1, approved_on=str(start), starts_on=str(start)),
        ],
    )
    seen = await outcomes(m, org, job)
    ghost, kept = seen["GHOST"]["id"], seen["KEEP"]["id"]
    mentor = org.mentors[0]
    ghost_mentee, kept_mentee = org.mentees[0], org.mentees[1]
    await _scheduled(n_app, tenant, [ghost, kept])

    coordinator = token(tenant, "coordinator", sub="coord-1")
    put = await n.put(
        "/notifications/rules", json={"inactive_days": 45}, headers=coordinator
    )
    assert put.status_code == 200, put.text

    scheduler = n_app.state.service.provide(Scheduler)
    base = datetime.combine(start, time(), tzinfo=UTC)

    # Day 29: nothing is due yet.
    assert await scheduler.sweep_tenant(tenant, base + timedelta(days=29)) == 0
    # Day 30: the match-quality pulse nudges both pairs (four people, the mentor
    # twice: one per relationship); no warning before the organisation's 45 days.
    assert await scheduler.sweep_tenant(tenant, base + timedelta(days=30, hours=1)) == 4
    assert _kinds(await inbox(n, tenant, ghost_mentee)) == ["match_pulse"]
    # Day 45: the warning, to both pairs; a re-sweep tells nobody twice.
    warned = base + timedelta(days=45, hours=1)
    assert await scheduler.sweep_tenant(tenant, warned) == 4
    assert await scheduler.sweep_tenant(tenant, warned + timedelta(hours=1)) == 0
    page = await inbox(n, tenant, ghost_mentee)
    assert _kinds(page) == ["inactivity_warning", "match_pulse"]
    warning = next(i for i in page["items"] if i["kind"] == "inactivity_warning")
    assert warning["subject_id"] == ghost
    assert set(warning["facts"]) == {
        "relationship_id",
        "inactive_since",
        "closes_after",
    }

    # The other pair's mentee answers the warning.
    answer = await n.post(
        f"/notifications/relationships/{kept}/keep-open",
        headers=person_token(tenant, kept_mentee),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["warning_cancelled"] is True

    # Day 51: still within the notice; day 52: the unanswered one is closed.
    assert await scheduler.sweep_tenant(tenant, warned + timedelta(days=6)) == 0
    closing = warned + timedelta(days=7, hours=1)
    assert await scheduler.sweep_tenant(tenant, closing) == 2  # the pair told
    assert await scheduler.sweep_tenant(tenant, closing + timedelta(hours=1)) == 0
    closed = await n_app.state.runtime.store.read_stream(
        stream_of(tenant, ghost), tenant=tenant
    )
    assert [e.event_type for e in closed] == ["RelationshipInactivityClosed"]
    assert closed[0].data["reason"] == "inactive"
    assert "relationship_closed" in _kinds(await inbox(n, tenant, ghost_mentee))

    # Matching ends the pairing as inactive; sessions concludes the relationship.
    async def pairing_ended() -> bool:
        got = await m.get(f"/pairings/{ghost}", headers=org.coordinator)
        return got.json()["state"] == "ended"

    await until(pairing_ended, "matching to end the ghosted pairing", 90)
    events = await mounted(m_app).runtime.store.read_stream(ghost, tenant=tenant)
    ended = [e for e in events if e.event_type == "PairingEnded"]
    assert len(ended) == 1 and ended[0].data["reason"] == "inactive"

    async def concluded() -> bool:
        got = await s.get(f"/relationships/{ghost}", headers=coordinator)
        return got.status_code == 200 and got.json()["state"] == "concluded"

    await until(concluded, "sessions to conclude the ghosted relationship", 90)
    # ... with reason ``inactive`` (not ``completed``): it did not run its course.
    s_events = await mounted(s_app).runtime.store.read_stream(ghost, tenant=tenant)
    conclusions = [e for e in s_events if e.event_type == "RelationshipConcluded"]
    assert [e.data["reason"] for e in conclusions] == ["inactive"]

    # The pair that answered stays open everywhere.
    still = await m.get(f"/pairings/{kept}", headers=org.coordinator)
    assert still.json()["state"] == "confirmed"
    open_ = await s.get(f"/relationships/{kept}", headers=coordinator)
    assert open_.json()["state"] == "active"
    kept_page = await inbox(n, tenant, kept_mentee)
    assert "relationship_closed" not in _kinds(kept_page)
    async with n_app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT relationship_id, state FROM notification_schedule "
                "WHERE tenant = :t"
            ),
            {"t": tenant},
        )
        states = {r.relationship_id: r.state for r in rows}
    assert states[kept] == "active" and states[ghost] in ("closed", "concluded")
    # The mentor, in both pairs, heard of each relationship on its own.
    mentor_page = await inbox(n, tenant, mentor)
    assert _kinds(mentor_page).count("inactivity_warning") == 2
