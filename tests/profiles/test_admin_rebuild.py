"""Rebuilding the current-state tables: an admin rebuilds their organisation only, an
operator every organisation; the rebuild works on SQLite (embedded mode) too."""

from __future__ import annotations

from sqlalchemy import text

from chassis.messaging.inprocess import InProcessBus
from chassis.service import mounted
from services.profiles.application import Profiles
from services.profiles.main import build_app
from services.profiles.settings import Settings
from tests.apps import serving
from tests.profiles.conftest import ADMIN, COORDINATOR, person, token

GLOBEX_ADMIN = token("globex", "admin", sub="globex-admin")
GLOBEX_COORDINATOR = token("globex", "coordinator", sub="globex-coordinator")
OPERATOR = token("acme", "operator", sub="platform-operator")
REBUILD = "/admin/projections/rebuild"


async def cohort(client, name: str, headers) -> str:
    resp = await client.post(
        "/cohorts", json={"name": name, "capacity": 2}, headers=headers
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["cohort_id"]


async def tamper(app) -> None:
    """Damage every organisation's rows behind the projection's back."""
    async with mounted(app).runtime.engine.begin() as conn:
        await conn.execute(text("UPDATE cohorts SET name = 'tampered'"))
        await conn.execute(text("UPDATE people SET given_name = 'tampered'"))


async def names(app, tenant: str) -> list[str]:
    """Cohort names and people's given names (opened: they are sealed)."""
    async with mounted(app).runtime.engine.connect() as conn:
        cohorts = await conn.execute(
            text("SELECT name FROM cohorts WHERE tenant = :t"), {"t": tenant}
        )
        found = [r.name for r in cohorts]
        people = (
            await conn.execute(
                text("SELECT person_id, given_name FROM people WHERE tenant = :t"),
                {"t": tenant},
            )
        ).all()
        cipher = mounted(app).provide(Profiles).cipher
        keys = await cipher.keys_for(conn, [r.person_id for r in people])
        found += [
            cipher.open(keys[r.person_id], r.person_id, "people", "given_name",
                        r.given_name)
            for r in people
        ]  # fmt: skip
        return sorted(found)


async def test_an_admin_rebuilds_their_organisation_only(app, client):
    await cohort(client, "Acme leaders", COORDINATOR)
    await client.post("/people", json=person(1), headers=COORDINATOR)
    await cohort(client, "Globex leaders", GLOBEX_COORDINATOR)
    await client.post("/people", json=person(2), headers=GLOBEX_COORDINATOR)
    acme, globex = await names(app, "acme"), await names(app, "globex")
    await tamper(app)

    rebuilt = await client.post(REBUILD, headers=ADMIN)
    assert rebuilt.status_code == 200, rebuilt.text
    assert rebuilt.json()["events_replayed"] == 2  # acme's events only
    assert await names(app, "acme") == acme
    # globex's rows were not touched: still as the tamperer left them.
    assert await names(app, "globex") == ["tampered", "tampered"]

    # Every organisation at once is the operator's; an admin gets a typed 403.
    refused = await client.post(f"{REBUILD}?all_tenants=true", headers=ADMIN)
    assert refused.status_code == 403
    assert refused.json()["code"] == "OperatorRequired"
    assert await names(app, "globex") == ["tampered", "tampered"]

    full = await client.post(f"{REBUILD}?all_tenants=true", headers=OPERATOR)
    assert full.status_code == 200 and full.json()["events_replayed"] == 4
    assert await names(app, "globex") == globex
    assert await names(app, "acme") == acme


async def test_sqlite_rebuild_does_not_wait_on_itself(tmp_path):
    settings = Settings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'profiles.db'}",
        service_name="profiles",
    )
    app = build_app(settings, transport=InProcessBus())
    async with serving(app, "profiles") as client:
        await cohort(client, "Acme leaders", COORDINATOR)
        await client.post("/people", json=person(1), headers=COORDINATOR)
        await cohort(client, "Globex leaders", GLOBEX_COORDINATOR)
        acme, globex = await names(app, "acme"), await names(app, "globex")
        await tamper(app)

        # It used to wait for its own write lock until the busy timeout: a 503.
        rebuilt = await client.post(REBUILD, headers=ADMIN)
        assert rebuilt.status_code == 200, rebuilt.text
        assert await names(app, "acme") == acme
        assert await names(app, "globex") == ["tampered"]

        full = await client.post(f"{REBUILD}?all_tenants=true", headers=OPERATOR)
        assert full.status_code == 200, full.text
        assert await names(app, "globex") == globex
