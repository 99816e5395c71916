"""What a service answers when PostgreSQL is starting up or shutting down.

SQLAlchemy wraps some of asyncpg's refusals (raised while connecting to a server that
is starting up, or on a session the server is shutting down) in a bare ``DBAPIError``;
they mean "come back shortly", so the caller gets a 503 with ``Retry-After``, never a
500. The real restart is exercised in ``test_faults_survived``; this pins the mapping
of each refusal, which a restart only hits when its timing allows.
"""

from __future__ import annotations

import asyncpg.exceptions as pg
import httpx
import pytest
import sqlalchemy.exc
from fastapi import APIRouter
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi

from chassis.http import create_app
from chassis.http.problems import is_database_outage
from chassis.messaging.consumer import database_unavailable
from chassis.settings import ServiceSettings

REFUSALS = [
    pg.CannotConnectNowError("the database system is starting up"),
    pg.AdminShutdownError("terminating connection due to administrator command"),
    pg.CrashShutdownError("the database system is in recovery mode"),
    pg.TooManyConnectionsError("sorry, too many clients already"),
    pg.ConnectionFailureError("connection failure"),
]


def wrapped(error: Exception) -> sqlalchemy.exc.DBAPIError:
    adapted = AsyncAdapt_asyncpg_dbapi.Error(str(error), error)
    return sqlalchemy.exc.DBAPIError("SELECT 1", {}, adapted)


@pytest.mark.parametrize("error", REFUSALS, ids=lambda e: type(e).__name__)
async def test_a_server_that_is_away_is_a_503_with_retry_advice(
    error: Exception,
) -> None:
    router = APIRouter()

    @router.get("/boom")
    async def boom() -> None:
        raise wrapped(error)

    app = create_app(
        ServiceSettings(service_name="faults", environment="test"),
        title="outage",
        version="0",
        routers=[router],
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://svc"
    ) as client:
        response = await client.get("/boom")
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "ServiceUnavailable"


def test_a_bad_query_is_not_an_outage() -> None:
    assert not is_database_outage(wrapped(pg.UndefinedTableError("no such table")))
    assert not is_database_outage(wrapped(pg.UniqueViolationError("duplicate key")))


@pytest.mark.parametrize("error", REFUSALS, ids=lambda e: type(e).__name__)
def test_the_consumer_waits_for_the_database_instead_of_dead_lettering(
    error: Exception,
) -> None:
    """The same refusals, met while applying an event, mean "wait for the database",
    never "the event is bad" (which would dead-letter a good event)."""
    assert database_unavailable(wrapped(error))
    assert not database_unavailable(wrapped(pg.UndefinedColumnError("no such column")))
