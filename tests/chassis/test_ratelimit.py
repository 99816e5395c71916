"""Rate limits per caller and per organisation, from the side of the noisy neighbour.

Every app built by ``create_app`` (each service and the gateway) counts a verified
caller's requests; past a limit it answers 429 with ``Retry-After``. Another caller,
another organisation, health probes and forged tokens are not affected.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from limits.aio.storage import MemoryStorage

from chassis.auth import Role, mint_token
from chassis.auth.fastapi import PrincipalDep
from chassis.http import create_app
from chassis.http.ratelimit import PostgresRateLimitStorage, storage_for
from chassis.settings import ServiceSettings

SECRET = "test-secret-that-is-long-enough-for-hs256"
router = APIRouter()


@router.get("/me")
async def me(principal: PrincipalDep) -> dict[str, str]:
    return {"subject": principal.subject}


def settings(**overrides: Any) -> ServiceSettings:
    values: dict[str, Any] = {
        "service_name": "limited",
        "environment": "test",
        "jwt_secret": SECRET,
        "rate_limit_per_token_per_minute": 3,
        "rate_limit_per_tenant_per_minute": 5,
    }
    values.update(overrides)
    return ServiceSettings(**values)


def bearer(subject: str, tenant: str, secret: str = SECRET) -> dict[str, str]:
    token = mint_token(secret, subject, tenant, [Role.MENTEE], "tandem-dev", "tandem")
    return {"authorization": f"Bearer {token}"}


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    )


async def statuses(c: httpx.AsyncClient, headers: dict[str, str], n: int) -> list[int]:
    return [(await c.get("/me", headers=headers)).status_code for _ in range(n)]


async def test_a_caller_past_the_limit_gets_429_and_others_carry_on() -> None:
    app = create_app(settings(), title="t", version="1", routers=[router])
    alice, bob = bearer("alice", "acme"), bearer("bob", "acme")
    async with client(app) as c:
        # Forged tokens naming alice do not verify, so they cannot drain her bucket.
        forged = bearer("alice", "acme", secret="another-secret-long-enough-too!!")
        assert set(await statuses(c, forged, 10)) == {401}
        assert await statuses(c, alice, 3) == [200, 200, 200]
        refused = await c.get("/me", headers=alice)
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "RateLimited"
        assert "caller" in refused.json()["detail"]
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        # Alice's refused request did not count against her organisation: bob has
        # the organisation's remaining two, then the organisation is full.
        assert await statuses(c, bob, 2) == [200, 200]
        full = await c.get("/me", headers=bob)
        assert full.status_code == 429 and "organisation" in full.json()["detail"]
        # Another organisation is not affected; probes never are, token or not.
        assert await statuses(c, bearer("carol", "globex"), 3) == [200, 200, 200]
        for path in ("/healthz", "/readyz"):
            for _ in range(5):
                assert (await c.get(path, headers=alice)).status_code == 200
        # Without a token nothing is counted: the route refuses it as before.
        assert (await c.get("/me")).status_code == 401


async def test_probes_of_a_mounted_app_are_not_limited() -> None:
    platform = FastAPI()
    platform.mount(
        "/profiles", create_app(settings(), title="t", version="1", routers=[router])
    )
    alice = bearer("alice", "acme")
    async with client(platform) as c:
        for _ in range(5):
            assert (await c.get("/profiles/healthz", headers=alice)).status_code == 200
        me = [
            (await c.get("/profiles/me", headers=alice)).status_code for _ in range(4)
        ]
        assert me == [200, 200, 200, 429]


async def test_limits_at_zero_are_off() -> None:
    app = create_app(
        settings(rate_limit_per_token_per_minute=0, rate_limit_per_tenant_per_minute=0),
        title="t",
        version="1",
        routers=[router],
    )
    async with client(app) as c:
        assert set(await statuses(c, bearer("alice", "acme"), 8)) == {200}


def test_production_counts_in_its_database_and_the_rest_in_memory() -> None:
    pg = "postgresql+asyncpg://tandem@localhost/profiles"
    secret = "a-real-secret-for-production-use"
    shared = storage_for(
        settings(environment="production", database_url=pg, jwt_secret=secret)
    )
    assert isinstance(shared, PostgresRateLimitStorage)
    assert isinstance(storage_for(settings(database_url=pg)), MemoryStorage)
    assert isinstance(storage_for(settings()), MemoryStorage)
    chosen = storage_for(settings(rate_limit_storage="postgresql://u@h/limits"))
    assert isinstance(chosen, PostgresRateLimitStorage)


@pytest.mark.postgres
async def test_replicas_sharing_postgresql_count_together(database_url: str) -> None:
    shared = settings(rate_limit_storage=database_url)
    replicas = [
        create_app(shared, title="t", version="1", routers=[router]) for _ in range(2)
    ]
    alice = bearer("alice", "acme")
    async with (
        replicas[0].router.lifespan_context(replicas[0]),
        replicas[1].router.lifespan_context(replicas[1]),
        client(replicas[0]) as a,
        client(replicas[1]) as b,
    ):
        # Concurrent hits from both replicas: the counter is exact, three pass.
        answers = await asyncio.gather(
            *(c.get("/me", headers=alice) for c in (a, b, a, b, a, b))
        )
        assert sorted(r.status_code for r in answers) == [200] * 3 + [429] * 3
        assert (await b.get("/me", headers=bearer("bob", "globex"))).status_code == 200
