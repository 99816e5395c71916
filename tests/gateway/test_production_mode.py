"""Production mode: no introspection, no field suggestions, no GraphiQL, trusted
documents only; and a service that is down gives a clear, typed answer."""

from __future__ import annotations

import hashlib
from contextlib import asynccontextmanager

import httpx
import pytest

from chassis.auth import Role, mint_token
from gateway.main import build_app
from gateway.protection import PersistedQueries
from gateway.settings import GatewaySettings

SECRET = "a-real-secret-for-production-tests-0123456789"
DOWN = "http://127.0.0.1:9"  # discard port: nothing listens there


def settings(**overrides) -> GatewaySettings:
    values = dict(
        environment="production",
        jwt_secret=SECRET,
        upstream_timeout_s=2,
        **{f"{s}_url": DOWN for s in ("profiles", "matching", "sessions")},
        **{f"{s}_url": DOWN for s in ("advisors", "insights")},
    )
    values.update(overrides)
    return GatewaySettings(**values)


def bearer(*roles: Role) -> dict[str, str]:
    jwt = mint_token(SECRET, "p-1", "acme", list(roles), "tandem-dev", "tandem")
    return {"authorization": f"Bearer {jwt}"}


@asynccontextmanager
async def running(app):
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as c:

            async def post(body, headers=None) -> httpx.Response:
                return await c.post("/graphql", json=body, headers=headers or {})

            yield post


async def test_introspection_and_field_suggestions_are_off_in_production():
    async with running(build_app(settings())) as post:
        resp = await post({"query": "{ __schema { types { name } } }"}, bearer())
        assert "introspection" in resp.text.lower()
        assert "types" not in (resp.json().get("data") or {})
        resp = await post({"query": "{ mee { id } }"}, bearer())
    message = resp.json()["errors"][0]["message"]
    assert "Cannot query field 'mee'" in message
    assert "Did you mean" not in message


async def test_graphiql_is_served_in_development_only():
    dev = build_app(GatewaySettings(environment="development"))
    prod = build_app(settings())
    for app, expected in ((dev, 200), (prod, 404)):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gw"
        ) as c:
            resp = await c.get("/graphql", headers={"accept": "text/html"})
        assert resp.status_code == expected
        if expected == 200:
            assert "graphiql" in resp.text.lower()


async def test_only_trusted_documents_run_when_required():
    document = "query Me { me { id } }"
    trusted = PersistedQueries({"me": document})
    app = build_app(settings(trusted_queries_only=True), persisted=trusted)
    digest = hashlib.sha256(document.encode()).hexdigest()
    async with running(app) as post:
        refused = await post({"query": document}, bearer())
        ran = await post(
            {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}},
            bearer(),
        )
        unknown = await post(
            {"extensions": {"persistedQuery": {"sha256Hash": "0" * 64}}}, bearer()
        )
    assert refused.status_code == 422
    assert "trusted" in refused.json()["detail"]
    # It ran: profiles is down here, which is the answer it got.
    assert ran.json()["errors"][0]["extensions"]["code"] == "ServiceUnavailable"
    assert unknown.status_code == 422


@pytest.mark.parametrize("environment", ["development"])
async def test_a_service_down_is_a_clear_error_and_a_typed_mutation_result(
    environment,
):
    app = build_app(settings(environment=environment, jwt_secret=SECRET))
    async with running(app) as post:
        resp = await post({"query": "{ me { id } }"}, bearer(Role.ADMIN))
        mutation = """mutation { setMentorCapacity(input: {personId: "UGVyc29uOng=",
          maxMentees: 1, hoursPerMonth: 2}) { __typename
          ... on ServiceUnavailable { service retryAfterSeconds } } }"""
        typed = await post({"query": mutation}, bearer(Role.ADMIN))
    error = resp.json()["errors"][0]
    assert error["extensions"] == {
        "code": "ServiceUnavailable",
        "service": "profiles",
        "retryAfterSeconds": 5,
    }
    assert typed.json()["data"]["setMentorCapacity"] == {
        "__typename": "ServiceUnavailable",
        "service": "profiles",
        "retryAfterSeconds": 5,
    }
