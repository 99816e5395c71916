"""Admin operations of insights act on the caller's organisation only: a rebuild by
one tenant's admin leaves every other tenant's rows alone, the lag shows only their
own events; every tenant at once is the operator's. On real PostgreSQL, no broker:
facts go through the consumer's own handler, as the consumer applies them."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import text

from tests.insights.test_rebuild import app, apply_live, planted  # noqa: F401
from tests.profiles.conftest import token
from tests.support.waiting import until


def tenant() -> str:
    return f"scope-{uuid.uuid4().hex[:8]}"


async def rows(service, tenant: str) -> dict[str, list]:
    async with service.state.runtime.engine.connect() as conn:
        health = await conn.execute(
            text(
                "SELECT relationship_id, state, reasons FROM relationship_health "
                "WHERE tenant = :t ORDER BY relationship_id"
            ),
            {"t": tenant},
        )
        equity = await conn.execute(
            text(
                "SELECT person_id, data FROM equity_people WHERE tenant = :t "
                "ORDER BY person_id"
            ),
            {"t": tenant},
        )
        return {
            "health": [tuple(r) for r in health],
            "equity": [tuple(r) for r in equity],
        }


async def tamper(service) -> None:
    """Damage every tenant's read models behind the consumer's back."""
    async with service.state.runtime.engine.begin() as conn:
        await conn.execute(text("UPDATE relationship_health SET state = 'tampered'"))
        await conn.execute(text("UPDATE equity_people SET data = '{}'"))


def client_for(service) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=service)
    return httpx.AsyncClient(transport=transport, base_url="http://insights")


async def finished(client, headers, **params) -> dict:
    last: dict = {}

    async def ended() -> dict | None:
        nonlocal last
        last = (
            await client.get("/admin/rebuild", headers=headers, params=params)
        ).json()
        return last if last["status"] not in ("queued", "running") else None

    return dict(
        await until(
            ended,
            "the rebuild to end",
            60,
            interval_s=0.05,
            detail=lambda: f"rebuild still running: {last}",
        )
    )


async def test_an_admin_rebuilds_their_organisation_and_no_other(app):  # noqa: F811
    a, b = tenant(), tenant()
    await apply_live(app, planted(a) + planted(b))
    fresh = {t: await rows(app, t) for t in (a, b)}
    assert fresh[a]["health"] and fresh[b]["health"]
    await tamper(app)
    damaged_b = await rows(app, b)
    admin_a = token(a, "admin", sub="admin-a")

    async with client_for(app) as client:
        started = await client.post("/admin/rebuild", headers=admin_a)
        assert started.status_code == 202, started.text
        progress = await finished(client, admin_a)
        assert progress["status"] == "done", progress
        assert progress["total"] == len(planted(a))  # a's facts only
        assert await rows(app, a) == fresh[a]
        assert await rows(app, b) == damaged_b  # b's rows untouched

        # b's admin sees nothing of a's rebuild, and may run their own meanwhile.
        admin_b = token(b, "admin", sub="admin-b")
        idle = (await client.get("/admin/rebuild", headers=admin_b)).json()
        assert idle["status"] == "idle"

        for who in (admin_a, token(a, "coordinator")):
            refused = await client.post("/admin/rebuild?all_tenants=true", headers=who)
            assert refused.status_code == 403
        refused = await client.post("/admin/rebuild?all_tenants=true", headers=admin_a)
        assert refused.json()["code"] == "OperatorRequired"
        assert await rows(app, b) == damaged_b

        operator = token(a, "operator", sub="platform-operator")
        started = await client.post(
            "/admin/rebuild", params={"all_tenants": "true"}, headers=operator
        )
        assert started.status_code == 202, started.text
        progress = await finished(client, operator, all_tenants="true")
        assert progress["status"] == "done", progress
        assert await rows(app, a) == fresh[a]
        assert await rows(app, b) == fresh[b]


async def test_two_organisations_rebuilding_at_once_wait_their_turn(app):  # noqa: F811
    a, b = tenant(), tenant()
    await apply_live(app, planted(a) + planted(b))
    fresh = {t: await rows(app, t) for t in (a, b)}
    await tamper(app)
    admins = [token(t, "admin", sub=f"admin-{t}") for t in (a, b)]
    async with client_for(app) as client:
        started = await asyncio.gather(
            *(client.post("/admin/rebuild", headers=h) for h in admins)
        )
        assert [s.status_code for s in started] == [202, 202]
        # The same organisation asking again while its rebuild is under way: 409.
        again = await client.post("/admin/rebuild", headers=admins[0])
        assert again.status_code in (202, 409)
        for headers in admins:
            assert (await finished(client, headers))["status"] == "done"
    assert {t: await rows(app, t) for t in (a, b)} == fresh


async def test_an_admin_sees_the_lag_of_their_own_organisation_only(app):  # noqa: F811
    a, b = tenant(), tenant()
    await apply_live(app, planted(a)[:3])
    await apply_live(app, planted(b))
    async with client_for(app) as client:
        own = await client.get("/admin/lag", headers=token(a, "admin", sub="x"))
        assert own.status_code == 200, own.text
        report = own.json()
        assert report["scope"] == "tenant"
        assert report["applied_since_start"] == report["projection_lag_ms"]["window"]
        assert report["applied_since_start"] == 3
        assert report["consumer_lag_messages"] is None

        other = (
            await client.get("/admin/lag", headers=token(b, "admin", sub="y"))
        ).json()
        assert other["applied_since_start"] == len(planted(b))

        refused = await client.get(
            "/admin/lag?all_tenants=true", headers=token(a, "admin", sub="x")
        )
        assert refused.status_code == 403
        assert refused.json()["code"] == "OperatorRequired"
        everyone = (
            await client.get(
                "/admin/lag?all_tenants=true", headers=token(a, "operator", sub="op")
            )
        ).json()
        assert everyone["scope"] == "all_tenants"
        assert everyone["applied_since_start"] == 3 + len(planted(b))
