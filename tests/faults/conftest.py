"""The fault tests' fleet: profiles (a writer) and insights (the consumer that
projects everything), each a real process with its own database on this module's
PostgreSQL server and Kafka broker. The faults module has servers of its own (unless
``DATABASE_URL`` / ``KAFKA_BOOTSTRAP_SERVERS`` name external ones, which it cannot take
down anyway), so a fault that is not undone cannot take the rest of the suite with it. One fleet per module keeps the
start-up cost (two interpreters, a consumer group join) paid once; every test uses
its own tenant, and leaves the fleet running and ready.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.db import create_engine
from deploy.local.kafka import KafkaBroker
from deploy.local.postgres import PostgresServer
from tests.faults.processes import ServiceProcess


@pytest.fixture(scope="module")
def postgres_server(postgres_server: Any) -> Iterator[Any]:
    """A PostgreSQL server of this module's own (the session's when external)."""
    if os.environ.get("DATABASE_URL"):
        yield postgres_server
        return
    server = PostgresServer()
    server.start(durable=False)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def kafka_broker() -> Iterator[Any]:
    """A Kafka broker of this module's own (an external one is used as it is)."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        from tests.conftest import ExternalKafkaBroker

        yield ExternalKafkaBroker(external)
        return
    broker = KafkaBroker()
    broker.start()
    try:
        yield broker
    finally:
        broker.close()


@pytest.fixture(scope="module")
def kafka_bootstrap(kafka_broker: Any) -> str:
    return str(kafka_broker.bootstrap_servers)


@dataclass
class Fleet:
    profiles: ServiceProcess
    insights: ServiceProcess
    kafka_bootstrap: str

    def processes(self) -> list[ServiceProcess]:
        return [self.profiles, self.insights]

    def logs(self) -> str:
        return "\n".join(p.tail() for p in self.processes())


@dataclass
class Databases:
    profiles: AsyncEngine
    insights: AsyncEngine


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def fleet(
    postgres_server: Any, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fleet]:
    logs = tmp_path_factory.mktemp("fault-logs")
    urls = {s: postgres_server.create_database() for s in ("profiles", "insights")}
    fleet = Fleet(
        profiles=ServiceProcess(
            "profiles",
            database_url=urls["profiles"],
            kafka_bootstrap=kafka_bootstrap,
            log_dir=logs,
        ),
        insights=ServiceProcess(
            "insights",
            database_url=urls["insights"],
            kafka_bootstrap=kafka_bootstrap,
            log_dir=logs,
        ),
        kafka_bootstrap=kafka_bootstrap,
    )
    try:
        for process in fleet.processes():
            process.start()
        yield fleet
    except BaseException:
        print(fleet.logs())
        raise
    finally:
        for process in fleet.processes():
            process.stop()
        for url in urls.values():
            with contextlib.suppress(Exception):
                postgres_server.drop_database(urlsplit(url).path.lstrip("/"))


@pytest.fixture
def running(fleet: Fleet, request: pytest.FixtureRequest) -> Iterator[Fleet]:
    """The fleet for one test: logs printed if it fails, restarted if it is down."""
    yield fleet
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        print(fleet.logs())
    for process in fleet.processes():
        if not process.running:
            process.start()
        process.wait_ready()


@pytest.fixture
async def databases(fleet: Fleet) -> AsyncIterator[Databases]:
    """The services' own databases, read by the test to count what they hold."""
    dbs = Databases(
        create_engine(fleet.profiles.database_url, pool_size=2),
        create_engine(fleet.insights.database_url, pool_size=2),
    )
    yield dbs
    await dbs.profiles.dispose()
    await dbs.insights.dispose()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client
