"""Fail closed: forgetting ENVIRONMENT gives production, never the development doors.

A process started without ``ENVIRONMENT`` refuses to start on the public development
secret and, given a real one, refuses tokens signed with the development secret;
``/dev/tokens`` exists only on a platform built for development; a person reads their
own demographics and consents, and a coordinator never reads anyone else's.
"""

from __future__ import annotations

import importlib

import httpx
import pytest
from pydantic import ValidationError

from chassis.auth.tokens import mint_token
from chassis.settings import DEFAULT_DEV_SECRET
from gateway.settings import GatewaySettings
from launcher.cli import embedded_environment
from launcher.embedded import build_platform
from launcher.registry import SERVICES
from tests.apps import serving

REAL_SECRET = "a-real-secret-of-at-least-32-bytes-long!!"


def bearer(secret: str, subject: str, roles: list[str], tenant: str = "demo") -> dict:
    jwt = mint_token(secret, subject, tenant, roles, "tandem-dev", "tandem")
    return {"Authorization": f"Bearer {jwt}"}


@pytest.fixture
def no_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("ENVIRONMENT", "JWT_SECRET", "JWKS_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("process", [*SERVICES, "gateway"])
def test_without_environment_every_process_refuses_the_development_secret(
    no_environment, process
):
    if process == "gateway":
        settings_class = GatewaySettings
    else:
        settings_class = importlib.import_module(SERVICES[process]).Settings
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        settings_class(kafka_bootstrap_servers=None)


async def test_without_environment_a_service_refuses_development_tokens(
    no_environment, tmp_path
):
    no_environment.setenv("JWT_SECRET", REAL_SECRET)
    no_environment.setenv("SESSIONS_PULSE_KEY", "p" * 44)
    no_environment.setenv("SESSIONS_MASTER_KEY", "A" * 43 + "=")
    sessions = importlib.import_module(SERVICES["sessions"])
    settings = sessions.Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/sessions.db",
        kafka_bootstrap_servers=None,
    )
    assert settings.environment == "production"
    app = sessions.build_app(settings)
    async with serving(app, "sessions") as c:
        path = "/pulse-surveys/not-there"
        forged = await c.get(path, headers=bearer(DEFAULT_DEV_SECRET, "c", ["admin"]))
        assert forged.status_code == 401
        real = await c.get(path, headers=bearer(REAL_SECRET, "c", ["admin"]))
        assert real.status_code == 404  # authenticated: the survey is just not there
        assert (await c.get("/docs")).status_code == 404  # production: no docs page


def test_the_launcher_asks_for_development_unless_told():
    assert embedded_environment({}) == "development"
    assert embedded_environment({"ENVIRONMENT": ""}) == "development"
    assert embedded_environment({"ENVIRONMENT": "production"}) == "production"
    with pytest.raises(SystemExit):
        embedded_environment({"ENVIRONMENT": "staging"})


async def test_dev_tokens_exist_only_in_development(tmp_path):
    for environment in ("test", "development"):
        app = build_platform(tmp_path / environment, environment=environment)
        paths = {getattr(route, "path", "") for route in app.routes}
        assert ("/dev/tokens" in paths) is (environment == "development")
    # and outside development the path answers 404 (the seeded demo's 200 is
    # tests/launcher/test_demo.py's)
    app = build_platform(tmp_path / "test", environment="test")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://tandem"
    ) as c:
        assert (await c.get("/dev/tokens")).status_code == 404


async def test_a_person_reads_their_own_demographics_and_consents_and_no_one_else(
    tmp_path,
):
    app = build_platform(tmp_path / "data")
    admin = bearer(DEFAULT_DEV_SECRET, "admin-1", ["admin"])
    coordinator = bearer(DEFAULT_DEV_SECRET, "coordinator-1", ["coordinator"])
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://tandem"
        ) as c:
            ids = []
            for n in (1, 2):
                created = await c.post(
                    "/profiles/people",
                    json={
                        "given_name": f"Ada{n}",
                        "family_name": "Lovelace",
                        "email": f"ada{n}@demo.example",
                        "level": 5,
                        "business_unit": "Retail",
                        "function": "Finance",
                        "geography": "GB",
                        "time_zone": "Europe/London",
                        "roles": ["mentee"],
                    },
                    headers=admin,
                )
                assert created.status_code == 201, created.text
                pid = created.json()["person_id"]
                ids.append(pid)
                me = bearer(DEFAULT_DEV_SECRET, pid, ["mentee"])
                consent = await c.put(
                    f"/profiles/people/{pid}/consents/demographics",
                    json={"given": True},
                    headers=me,
                )
                assert consent.status_code == 204, consent.text
                shared = await c.put(
                    f"/profiles/people/{pid}/demographics",
                    json={"attributes": {"gender": f"g{n}", "age_band": "40-49"}},
                    headers=me,
                )
                assert shared.status_code == 204, shared.text

            async def graphql(query: str, headers: dict) -> dict:
                answer = await c.post(
                    "/graphql", json={"query": query}, headers=headers
                )
                body = answer.json()
                assert not body.get("errors"), body
                return body["data"]

            first = bearer(DEFAULT_DEV_SECRET, ids[0], ["mentee"])
            own = (await graphql("{ me { demographics consents } }", first))["me"]
            assert own["demographics"] == {"gender": "g1", "age_band": "40-49"}
            assert own["consents"] == ["demographics"]
            listing = (
                "{ people(first: 10) { edges { node { demographics consents } } } }"
            )
            for caller in (coordinator, first):
                seen = await graphql(listing, caller)
                others = [
                    e["node"]
                    for e in seen["people"]["edges"]
                    if e["node"]["demographics"] is not None
                ]
                # the coordinator sees no one's; the person only their own
                assert others == ([] if caller is coordinator else [own])
            everyone = await graphql(listing, admin)
            assert (
                len(
                    [
                        e
                        for e in everyone["people"]["edges"]
                        if e["node"]["demographics"]
                    ]
                )
                == 2
            )
            # REST says the same: profiles itself sends no one else's values
            for pid in ids:
                got = await c.get(f"/profiles/people/{pid}", headers=coordinator)
                assert got.status_code == 200
                assert "demographics" not in got.json()
                assert "g1" not in got.text and "g2" not in got.text
