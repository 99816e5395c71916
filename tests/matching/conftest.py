"""Matching on real PostgreSQL and Kafka; the profiles service produces its input."""

from __future__ import annotations

import pytest

from services.matching.main import build_app
from services.matching.settings import Settings
from tests.apps import serving
from tests.profiles.conftest import app, client  # noqa: F401  (fixtures)


@pytest.fixture
async def matching(postgres_server, kafka_bootstrap):
    """The matching app and a client for it."""
    service = build_app(
        Settings(
            environment="test",
            database_url=postgres_server.create_database(),
            kafka_bootstrap_servers=kafka_bootstrap,
        )
    )
    async with serving(service, "matching") as c:
        yield service, c
