"""Every service confirms an erasure, and no service takes a revoked person's token.

Tried as the people who would break it: matching, sessions and advisors answer ``GET
/admin/erasures/{person}`` only once ``PersonErased`` reached their consumer (404
before), only to the admins of the person's tenant (403 to a coordinator, 404 to
another tenant's admin). insights refuses the erased or deactivated person's
still-valid token; profiles refuses a deactivated person's token until they are
reactivated, and an erased person's for good.

Services are built by their ``main.build_app`` on real PostgreSQL; events reach them
through their own consumer (``deliver``), as from the broker.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from chassis.events import utcnow
from services.advisors.main import build_app as build_advisors
from services.advisors.settings import Settings as AdvisorsSettings
from services.insights.main import build_app as build_insights
from services.insights.settings import Settings as InsightsSettings
from services.matching.main import build_app as build_matching
from services.matching.settings import Settings as MatchingSettings
from services.profiles.main import build_app as build_profiles
from services.profiles.settings import Settings as ProfilesSettings
from services.sessions.main import build_app as build_sessions
from services.sessions.settings import Settings as SessionsSettings
from tests.apps import serving
from tests.invariants.test_erasure_tokens import deliver, envelope, refused, settings
from tests.profiles.conftest import person, token

ADMIN = token("acme", "admin", sub="admin-1")
BUILDERS = {
    "matching": (build_matching, MatchingSettings),
    "sessions": (build_sessions, SessionsSettings),
    "advisors": (build_advisors, AdvisorsSettings),
}


@pytest.fixture(params=sorted(BUILDERS))
async def service(request, postgres_server):
    build, cls = BUILDERS[request.param]
    app = build(settings(cls, postgres_server))
    async with serving(app, request.param) as c:
        yield request.param, app, c


async def test_a_service_confirms_an_erasure_only_after_it_happened(service):
    name, app, c = service
    erased, other = str(uuid.uuid4()), str(uuid.uuid4())
    path = f"/admin/erasures/{erased}"
    assert (await c.get(path, headers=ADMIN)).status_code == 404

    gone = envelope("PersonErased", person_id=erased, erased_at=utcnow())
    await deliver(app, gone)
    seen = await c.get(path, headers=ADMIN)
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert body["person_id"] == erased and body["service"] == name
    assert "revoked_subjects" in body["stores"] and body["confirmed_at"]

    await deliver(app, gone)  # redelivered: the first confirmation stands
    assert (await c.get(path, headers=ADMIN)).json() == body
    assert (await c.get(f"/admin/erasures/{other}", headers=ADMIN)).status_code == 404
    coordinator = await c.get(path, headers=token("acme", "coordinator"))
    assert coordinator.status_code == 403
    elsewhere = await c.get(path, headers=token("globex", "admin", sub="g-admin"))
    assert elsewhere.status_code == 404
    refused(await c.get(path, headers=token("acme", "admin", sub=erased)), "erased")
    async with app.state.runtime.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM erasure_receipts"))).all()
    assert len(rows) == 1  # one row, holding the id, times and store names only


@pytest.fixture
async def insights(postgres_server):
    app = build_insights(settings(InsightsSettings, postgres_server))
    async with serving(app, "insights") as c:
        yield app, c


async def test_insights_refuses_an_erased_or_deactivated_persons_token(insights):
    app, c = insights
    erased, deactivated, other = (str(uuid.uuid4()) for _ in range(3))

    def as_(who: str) -> dict[str, str]:
        return token("acme", "coordinator", sub=who)

    path = "/relationships/health"
    for who in (erased, deactivated, other):
        assert (await c.get(path, headers=as_(who))).status_code == 200
    await deliver(app, envelope("PersonErased", person_id=erased, erased_at=utcnow()))
    await deliver(app, envelope("PersonDeactivated", person_id=deactivated))
    refused(await c.get(path, headers=as_(erased)), "erased")
    refused(await c.get(path, headers=as_(deactivated)), "deactivated")
    assert (await c.get(path, headers=as_(other))).status_code == 200
    # Only in the person's tenant; a reactivation lifts a deactivation, not an erasure.
    assert (
        await c.get(path, headers=token("globex", "coordinator", sub=erased))
    ).status_code == 200
    for who in (erased, deactivated):
        await deliver(app, envelope("PersonReactivated", person_id=who))
    refused(await c.get(path, headers=as_(erased)), "erased")
    assert (await c.get(path, headers=as_(deactivated))).status_code == 200
    # A database reader finds no erased id in the view: subjects are keyed hashes.
    async with app.state.runtime.engine.connect() as conn:
        kept = (await conn.execute(text("SELECT subject FROM revoked_subjects"))).all()
    assert kept and erased not in {r.subject for r in kept}


@pytest.fixture
async def profiles(postgres_server):
    app = build_profiles(settings(ProfilesSettings, postgres_server))
    async with serving(app, "profiles") as c:
        yield app, c


async def test_profiles_refuses_a_deactivated_then_an_erased_persons_token(profiles):
    _, c = profiles
    made = await c.post("/people", json=person(1), headers=ADMIN)
    assert made.status_code == 201, made.text
    pid = made.json()["person_id"]
    me = token("acme", "mentee", sub=pid)
    assert (await c.get(f"/people/{pid}", headers=me)).status_code == 200

    off = await c.post(
        f"/people/{pid}/deactivate", json={"reason": "inactive"}, headers=ADMIN
    )
    assert off.status_code == 204, off.text
    refused(await c.get(f"/people/{pid}", headers=me), "deactivated")
    assert (await c.get(f"/people/{pid}", headers=ADMIN)).status_code == 200
    on = await c.post(f"/people/{pid}/reactivate", headers=ADMIN)
    assert on.status_code == 204, on.text
    assert (await c.get(f"/people/{pid}", headers=me)).status_code == 200

    assert (await c.delete(f"/people/{pid}", headers=ADMIN)).status_code == 204
    refused(await c.get(f"/people/{pid}", headers=me), "erased")
    refused(await c.delete(f"/people/{pid}", headers=me), "erased")
