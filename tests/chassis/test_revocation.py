"""The revocation view: a revoked subject's still-valid token gets 401, on both paths
that build the principal (``get_principal`` alone, and after the rate limiter)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.auth import Role, mint_token
from chassis.auth.fastapi import PrincipalDep
from chassis.auth.revocation import (
    DEACTIVATED,
    ERASED,
    Revocations,
    create_schema,
    reinstate,
    reinstating,
    revoke,
    revoking,
)
from chassis.db import create_engine
from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.http import create_app
from chassis.settings import ServiceSettings

SECRET = "test-secret-that-is-long-enough-for-hs256"
router = APIRouter()


@router.get("/me")
async def me(principal: PrincipalDep) -> dict[str, str]:
    return {"subject": principal.subject}


def bearer(subject: str, tenant: str = "acme") -> dict[str, str]:
    token = mint_token(SECRET, subject, tenant, [Role.MENTEE], "tandem-dev", "tandem")
    return {"authorization": f"Bearer {token}"}


@pytest.fixture
async def engine(sqlite_url: str):
    engine = create_engine(sqlite_url)
    await create_schema(engine)
    await create_schema(engine)  # idempotent, as every start runs it
    yield engine
    await engine.dispose()


def app_for(engine: AsyncEngine, **limits: Any) -> FastAPI:
    settings = ServiceSettings(
        service_name="revoking", environment="test", jwt_secret=SECRET, **limits
    )
    app = create_app(settings, title="t", version="1", routers=[router])
    app.state.revocations = Revocations(engine)
    return app


async def status(app: FastAPI, subject: str, tenant: str = "acme") -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        return await c.get("/me", headers=bearer(subject, tenant))


def event(kind: str, person_id: str, tenant: str = "acme") -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        source="tandem/profiles",
        type=kind,
        subject=person_id,
        time=utcnow(),
        data={"person_id": person_id},
        tenant=tenant,
    )


@pytest.mark.parametrize("limits", [{}, {"rate_limit_per_token_per_minute": 100}])
async def test_a_revoked_subject_gets_401_and_others_carry_on(
    engine: AsyncEngine, limits: dict[str, Any]
) -> None:
    app = app_for(engine, **limits)
    async with engine.begin() as conn:
        await revoke(conn, "acme", "ada", ERASED)
    refused = await status(app, "ada")
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert "the person was erased" in refused.json()["detail"]
    assert (await status(app, "bob")).status_code == 200
    # The same subject in another organisation is someone else.
    assert (await status(app, "ada", tenant="globex")).status_code == 200


async def test_reactivation_lifts_a_deactivation_never_an_erasure(
    engine: AsyncEngine,
) -> None:
    app = app_for(engine)
    async with engine.begin() as conn:
        await revoke(conn, "acme", "ada", DEACTIVATED)
        await revoke(conn, "acme", "eve", ERASED)
        await revoke(conn, "acme", "eve", DEACTIVATED)  # erasure stays the reason
    assert "deactivated" in (await status(app, "ada")).json()["detail"]
    assert "erased" in (await status(app, "eve")).json()["detail"]
    async with engine.begin() as conn:
        await reinstate(conn, "acme", "ada")
        await reinstate(conn, "acme", "eve")
    assert (await status(app, "ada")).status_code == 200
    assert (await status(app, "eve")).status_code == 401


async def test_the_handlers_revoke_in_the_events_transaction(
    engine: AsyncEngine,
) -> None:
    app = app_for(engine)
    seen: list[str] = []

    async def effect(env: Envelope, _conn: Any) -> None:
        seen.append(env.type)

    erased = revoking(ERASED, effect)
    for _ in range(2):  # a second delivery changes nothing more
        async with engine.begin() as conn:
            await erased(event("PersonErased", "ada"), conn)
    assert seen == ["PersonErased", "PersonErased"]
    assert (await status(app, "ada")).status_code == 401

    async with engine.begin() as conn:
        await revoking(DEACTIVATED)(event("PersonDeactivated", "bob"), conn)
    assert (await status(app, "bob")).status_code == 401
    async with engine.begin() as conn:
        await reinstating()(event("PersonReactivated", "bob"), conn)
    assert (await status(app, "bob")).status_code == 200

    class Failed(Exception):
        pass

    with pytest.raises(Failed):  # the transaction failed: nothing is revoked
        async with engine.begin() as conn:
            await revoking(ERASED)(event("PersonErased", "cy"), conn)
            raise Failed
    assert (await status(app, "cy")).status_code == 200


async def test_an_unknown_reason_is_refused(engine: AsyncEngine) -> None:
    with pytest.raises(ValueError, match="unknown revocation reason"):
        async with engine.begin() as conn:
            await revoke(conn, "acme", "ada", "bored")


async def test_on_postgresql_the_check_is_right_on_either_path(
    database_url: str,
) -> None:
    """PostgreSQL: the check runs on the driver directly (``chassis.db.first_value``)
    while nothing listens to the engine's statements, through SQLAlchemy while
    something does; a revocation is seen at once on both."""
    from sqlalchemy import event

    from chassis.db import first_value

    engine = create_engine(database_url)
    try:
        await create_schema(engine)
        app = app_for(engine, rate_limit_per_token_per_minute=100)
        assert (await status(app, "ada")).status_code == 200
        async with engine.begin() as conn:
            await revoke(conn, "acme", "ada", DEACTIVATED)
        assert "deactivated" in (await status(app, "ada")).json()["detail"]
        assert (await status(app, "bob")).status_code == 200

        seen: list[str] = []

        def listen(_c: object, _cur: object, statement: str, *_rest: object) -> None:
            seen.append(statement)

        event.listen(engine.sync_engine, "before_cursor_execute", listen)
        try:
            assert (await status(app, "ada")).status_code == 401
            assert (await status(app, "bob")).status_code == 200
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", listen)
        assert sum("revoked_subjects" in s for s in seen) == 2

        async with engine.begin() as conn:
            await reinstate(conn, "acme", "ada")
        assert (await status(app, "ada")).status_code == 200
        # A statement the server refuses leaves the connection usable.
        with pytest.raises(Exception, match="revoked_subjectz"):
            await first_value(
                engine, text("SELECT 1 FROM revoked_subjectz WHERE :x"), {"x": True}
            )
        assert (await status(app, "ada")).status_code == 200
    finally:
        await engine.dispose()


async def test_on_postgresql_a_lost_connection_is_replaced(database_url: str) -> None:
    """The driver's path drops a connection the server closed and asks again on a
    new one: the check still answers (a revoked subject is still refused)."""
    engine = create_engine(database_url)
    try:
        await create_schema(engine)
        app = app_for(engine)
        assert (await status(app, "ada")).status_code == 200
        async with engine.begin() as conn:
            await revoke(conn, "acme", "eve", ERASED)
        for subject, expected in (("ada", 200), ("eve", 401)):
            async with engine.connect() as conn:  # every other session goes
                await conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
            assert (await status(app, subject)).status_code == expected
    finally:
        await engine.dispose()
