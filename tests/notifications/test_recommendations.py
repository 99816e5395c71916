"""A council's recommendation awaiting a decision (issue 21): the advisors service
and notifications running together on real Kafka and PostgreSQL.

Advisors publishes ``RecommendationMade``, ``RecommendationAccepted`` /
``RecommendationRejected`` and the councils' sponsors (``CouncilMemberAdded``); the
sweep tells a recommendation still undecided after the organisation's window
(``recommendation_decision_days``, 7 by default) to those who decide it: the
council's sponsors and the programme's coordinators (advisors' rule). Once; a
decision before the window means nobody is told.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from contracts.notifications import NotificationKind as Kind
from services.notifications.application.scheduler import Scheduler
from services.notifications.domain import rules as decide
from services.notifications.domain.rules import Rules
from tests.advisors.conftest import advisors  # noqa: F401  (fixture)
from tests.notifications.conftest import (
    inbox,
    person_event,
    person_token,
    publish,
    until_applied,
)
from tests.profiles.conftest import token
from tests.support.waiting import until

pytestmark = pytest.mark.kafka
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_the_window_tells_the_deciders_once_and_zero_turns_it_off():
    deciders = ("sponsor-1", "coord-1")
    rules = Rules()
    assert rules.recommendation_decision_days == 7
    early = T0 + timedelta(days=6, hours=23)
    assert decide.recommendation_awaiting("r", "c", T0, deciders, rules, early) is None
    due = decide.recommendation_awaiting(
        "r", "c", T0, deciders, rules, T0 + timedelta(days=7)
    )
    assert due is not None and due.kind == Kind.RECOMMENDATION_AWAITING
    assert due.recipients == deciders and due.subject_id == "r"
    assert dict(due.facts) == {
        "recommendation_id": "r",
        "council_id": "c",
        "made_at": T0.isoformat(),
    }
    later = decide.recommendation_awaiting(
        "r", "c", T0, deciders, rules, T0 + timedelta(days=40)
    )
    assert later is not None and later.key == due.key  # one occurrence: told once
    off = Rules(recommendation_decision_days=0)
    far = T0 + timedelta(days=99)
    assert decide.recommendation_awaiting("r", "c", T0, deciders, off, far) is None
    assert decide.recommendation_awaiting("r", "c", T0, (), rules, far) is None


async def _recommend(client, tenant: str, council: str, meeting: str) -> str:
    r = await client.post(
        f"/councils/{council}/recommendations",
        json={"meeting_id": meeting, "title": "Pair new VPs", "made_by": "sponsor-2"},
        headers=token(tenant, "sponsor", sub="sponsor-2"),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["recommendation_id"])


async def _open(app, tenant: str) -> set[str]:
    async with app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT recommendation_id FROM notification_recommendations "
                "WHERE tenant = :t"
            ),
            {"t": tenant},
        )
        return {r.recommendation_id for r in rows}


async def _sponsors(app, tenant: str) -> set[str]:
    async with app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT person_id FROM notification_council_sponsors WHERE tenant = :t"
            ),
            {"t": tenant},
        )
        return {r.person_id for r in rows}


def _awaiting(page: dict) -> list[dict]:
    return [i for i in page["items"] if i["kind"] == "recommendation_awaiting"]


async def test_an_undecided_recommendation_is_told_to_its_deciders_once(
    advisors,  # noqa: F811
    notifications,
    kafka_bootstrap,
):
    _a_app, a = advisors
    n_app, n = notifications
    tenant = f"council-{uuid.uuid4().hex[:8]}"
    coordinator = token(tenant, "coordinator", sub="coord-1")
    # The programme's coordinator, as profiles publishes the role.
    await until_applied(
        n_app,
        await publish(
            kafka_bootstrap,
            [
                person_event(
                    tenant, "ProgrammeRolesChanged", "coord-1", roles=["coordinator"]
                )
            ],
        ),
    )

    charter = await a.post(
        "/councils",
        json={
            "name": "Transformation council",
            "purpose": "Advise the programme on its transformation track",
            "cadence_weeks": 6,
        },
        headers=coordinator,
    )
    assert charter.status_code == 201, charter.text
    council = charter.json()["council_id"]
    for member in ("sponsor-1", "sponsor-2"):
        r = await a.post(
            f"/councils/{council}/members",
            json={"member_id": member, "kind": "sponsor"},
            headers=coordinator,
        )
        assert r.status_code == 201, r.text
    r = await a.post(
        f"/councils/{council}/meetings",
        json={"held_on": "2026-03-01", "attendees": 4, "agenda": ["Retention"]},
        headers=coordinator,
    )
    assert r.status_code == 201, r.text
    meeting = r.json()["meeting_id"]
    waiting = await _recommend(a, tenant, council, meeting)
    decided = await _recommend(a, tenant, council, meeting)
    made = datetime.now(UTC)
    # The other sponsor decides one of them at once.
    accepted = await a.post(
        f"/recommendations/{decided}/accept",
        headers=token(tenant, "sponsor", sub="sponsor-1"),
    )
    assert accepted.status_code == 200, accepted.text

    async def learnt() -> bool:
        return await _open(n_app, tenant) == {waiting} and await _sponsors(
            n_app, tenant
        ) == {"sponsor-1", "sponsor-2"}

    await until(learnt, "notifications to learn the council's state", 90)

    scheduler = n_app.state.service.provide(Scheduler)
    assert await scheduler.sweep_tenant(tenant, made + timedelta(days=6)) == 0
    week = made + timedelta(days=7, hours=1)
    assert await scheduler.sweep_tenant(tenant, week) == 3  # two sponsors, coord
    assert await scheduler.sweep_tenant(tenant, week + timedelta(days=3)) == 0

    for person in ("sponsor-1", "sponsor-2", "coord-1"):
        told = _awaiting(await inbox(n, tenant, person))
        assert len(told) == 1, (person, told)
        assert told[0]["subject_id"] == waiting
        facts = told[0]["facts"]
        assert set(facts) == {"recommendation_id", "council_id", "made_at"}
        assert facts["council_id"] == council
        assert "Pair new VPs" not in str(told[0])  # the title stays in advisors
    # Someone who does not decide it hears nothing.
    assert _awaiting(await inbox(n, tenant, "mentee-1")) == []

    # The decision comes; nothing more is owed, however late the sweep.
    rejected = await a.post(
        f"/recommendations/{waiting}/reject",
        json={"rationale": "Not this year"},
        headers=coordinator,
    )
    assert rejected.status_code == 200, rejected.text

    async def gone() -> bool:
        return await _open(n_app, tenant) == set()

    await until(gone, "the decision to reach notifications", 90)
    assert await scheduler.sweep_tenant(tenant, week + timedelta(days=30)) == 0


async def test_a_decision_within_the_window_tells_nobody(
    advisors,  # noqa: F811
    notifications,
):
    _a_app, a = advisors
    n_app, n = notifications
    tenant = f"council-{uuid.uuid4().hex[:8]}"
    coordinator = token(tenant, "coordinator", sub="coord-1")
    charter = await a.post(
        "/councils",
        json={"name": "Board", "purpose": "Advise", "cadence_weeks": 4},
        headers=coordinator,
    )
    council = charter.json()["council_id"]
    await a.post(
        f"/councils/{council}/members",
        json={"member_id": "sponsor-2", "kind": "sponsor"},
        headers=coordinator,
    )
    r = await a.post(
        f"/councils/{council}/meetings",
        json={"held_on": "2026-03-01", "attendees": 2, "agenda": ["Budget"]},
        headers=coordinator,
    )
    rec = await _recommend(a, tenant, council, r.json()["meeting_id"])

    async def known() -> bool:
        return await _open(n_app, tenant) == {rec}

    await until(known, "notifications to learn the recommendation", 90)
    # The organisation shortens the window to 3 days.
    put = await n.put(
        "/notifications/rules",
        json={"recommendation_decision_days": 3},
        headers=coordinator,
    )
    assert put.status_code == 200, put.text
    assert put.json()["recommendation_decision_days"] == 3
    scheduler = n_app.state.service.provide(Scheduler)
    now = datetime.now(UTC)
    assert await scheduler.sweep_tenant(tenant, now + timedelta(days=2)) == 0

    accepted = await a.post(
        f"/recommendations/{rec}/accept",
        headers=token(tenant, "sponsor", sub="sponsor-2"),
    )
    assert accepted.status_code == 200, accepted.text

    async def decided() -> bool:
        return await _open(n_app, tenant) == set()

    await until(decided, "the acceptance to reach notifications", 90)
    assert await scheduler.sweep_tenant(tenant, now + timedelta(days=30)) == 0
    assert _awaiting(await inbox(n, tenant, "sponsor-2")) == []


async def test_the_window_is_the_coordinators_rule_and_bad_input_changes_nothing(
    notifications, tenant
):
    _app, client = notifications
    coordinator = token(tenant, "coordinator", sub="coord-1")
    got = await client.get("/notifications/rules", headers=coordinator)
    assert got.json()["recommendation_decision_days"] == 7
    for bad in (-1, 366, "soon"):
        refused = await client.put(
            "/notifications/rules",
            json={"recommendation_decision_days": bad},
            headers=coordinator,
        )
        assert refused.status_code == 422, bad
    mentee = await client.put(
        "/notifications/rules",
        json={"recommendation_decision_days": 1},
        headers=person_token(tenant, "mentee-1"),
    )
    assert mentee.status_code == 403
    off = await client.put(
        "/notifications/rules",
        json={"recommendation_decision_days": 0},
        headers=coordinator,
    )
    assert off.status_code == 200 and off.json()["recommendation_decision_days"] == 0
    again = (await client.get("/notifications/rules", headers=coordinator)).json()
    assert again["recommendation_decision_days"] == 0 and again["inactive_days"] == 30
