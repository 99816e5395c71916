"""The advisors service on real PostgreSQL and Kafka."""

from __future__ import annotations

import pytest

from services.advisors.main import build_app
from services.advisors.settings import Settings
from tests.apps import serving
from tests.profiles.conftest import token

COORDINATOR = token("acme", "coordinator")
SPONSOR = token("acme", "sponsor", sub="sponsor-1")
ADMIN = token("acme", "admin", sub="admin-1")
OTHER_TENANT = token("globex", "coordinator", "admin", sub="globex-admin")


@pytest.fixture
async def advisors(postgres_server, kafka_bootstrap):
    """The advisors app and a client for it."""
    app = build_app(
        Settings(
            environment="test",
            database_url=postgres_server.create_database(),
            kafka_bootstrap_servers=kafka_bootstrap,
        )
    )
    async with serving(app, "advisors") as c:
        yield app, c
