"""The profiles service on real PostgreSQL and Kafka, driven over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from chassis.auth.tokens import mint_token
from chassis.settings import DEFAULT_DEV_SECRET
from services.profiles.main import build_app
from services.profiles.settings import Settings
from tests.apps import serving


def token(
    tenant: str = "acme", *roles: str, sub: str = "coordinator-1"
) -> dict[str, str]:
    """Authorization header for a development token."""
    jwt = mint_token(
        DEFAULT_DEV_SECRET,
        sub,
        tenant,
        list(roles or ("coordinator",)),
        "tandem-dev",
        "tandem",
    )
    return {"Authorization": f"Bearer {jwt}"}


COORDINATOR = token("acme", "coordinator")
ADMIN = token("acme", "admin", sub="admin-1")
INTEGRATION = token("acme", "integration", sub="hris-1")
OTHER_TENANT = token("globex", "coordinator", "admin", sub="globex-admin")


def person(n: int = 1, **overrides) -> dict:
    body = {
        "given_name": f"Ada{n}",
        "family_name": "Lovelace",
        "email": f"ada{n}@acme.example",
        "level": 5,
        "business_unit": "Retail",
        "function": "Finance",
        "geography": "GB",
        "time_zone": "Europe/London",
        "employee_id": f"E{n:05d}",
        "title": "Finance Director",
        "hire_date": "2015-03-01",
        "languages": ["en"],
        "roles": ["mentee"],
    }
    body.update(overrides)
    return body


@pytest.fixture
async def app(postgres_server, kafka_bootstrap):
    settings = Settings(
        environment="test",
        database_url=postgres_server.create_database(),
        kafka_bootstrap_servers=kafka_bootstrap,
        service_name="profiles",
    )
    app = build_app(settings)
    async with serving(app, "profiles") as c:
        app.state.test_client = c
        yield app


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    yield app.state.test_client


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]
