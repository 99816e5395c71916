"""Shared fixtures: REAL PostgreSQL and Kafka for the test session.

Nothing here is faked. By default the session starts its own servers:

* PostgreSQL: a throw-away cluster (``initdb`` into a temporary folder, fsync off)
  started on first use of ``postgres_server``/``database_url``; needs the
  PostgreSQL server binaries (``deploy/bootstrap.sh`` installs them).
* Kafka: a single-node KRaft broker started LAZILY, only when a test asks for
  ``kafka_broker``/``kafka_bootstrap``; needs ``java`` and ``mvn`` (the broker
  jars are resolved once into ``deploy/kafka/cache``). If it cannot start, the
  requesting tests ERROR - they are never skipped and never get a fake.

``ENVIRONMENT`` is set to ``test`` for the whole session (below).

Environment overrides (use servers that already run, e.g. CI services):

* ``DATABASE_URL`` - any PostgreSQL URL (``postgresql://`` or
  ``postgresql+asyncpg://``) whose user may CREATE DATABASE; every
  ``database_url`` test gets a fresh database on that server.
* ``KAFKA_BOOTSTRAP_SERVERS`` - ``host:port[,host:port]`` of an existing
  cluster. Tests that simulate a broker outage (``kafka_broker.stop()`` /
  ``start()`` / ``restart()`` / ``kill()``) are skipped there.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from deploy.local.kafka import KafkaBroker
from deploy.local.postgres import PostgresServer

# No ENVIRONMENT means production (chassis/settings.py): the suite asks for ``test``
# (development tokens accepted, no development conveniences), for every settings
# object it builds and every process it starts. A test that needs another one (the
# embedded demo's /dev/tokens, production mode) says so itself.
os.environ["ENVIRONMENT"] = "test"
# The collector is tuned for serving (chassis.heap) by default, even for a test's
# production-mode app; this process builds hundreds of apps and must not freeze
# its heap with each one's, nor must the servers it starts.
os.environ["GC_TUNING"] = "false"


class ExternalKafkaBroker:
    """A broker we did not start: usable, but it cannot be taken down."""

    def __init__(self, bootstrap_servers: str) -> None:
        self.bootstrap_servers = bootstrap_servers

    def _cannot(self, *args: object, **kwargs: object) -> None:
        pytest.skip("external broker cannot be restarted")

    stop = start = restart = kill = _cannot

    def __repr__(self) -> str:
        return f"<ExternalKafkaBroker {self.bootstrap_servers}>"


def _say_if_slow(server: str, started: float) -> None:
    """Suite time is watched: a server slow to stop says so in the output."""
    took = time.monotonic() - started
    if took > 10:
        print(f"\n{server} took {took:.0f} s to stop and clean up")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server (own cluster, or ``$DATABASE_URL``'s)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield PostgresServer.from_url(url)
        return
    server = PostgresServer()
    server.start(durable=False)
    try:
        yield server
    finally:
        started = time.monotonic()
        server.close()
        _say_if_slow("PostgreSQL", started)


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaBroker | ExternalKafkaBroker]:
    """The session's Kafka broker; started on first request only."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield ExternalKafkaBroker(external)
        return
    broker = KafkaBroker()
    broker.start()  # raises (test ERROR) with the broker log tail if it fails
    try:
        yield broker
    finally:
        started = time.monotonic()
        broker.close()
        _say_if_slow("Kafka", started)


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: KafkaBroker | ExternalKafkaBroker) -> str:
    """``bootstrap_servers`` string of the session broker."""
    return kafka_broker.bootstrap_servers


@pytest.fixture
def database_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for this test (``postgresql+asyncpg://`` URL)."""
    url = postgres_server.create_database()
    try:
        yield url
    finally:
        name = urlsplit(url).path.lstrip("/")
        with contextlib.suppress(Exception):
            postgres_server.drop_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """SQLAlchemy aiosqlite URL of a database file in this test's tmp_path."""
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


# -- the quick selection ---------------------------------------------------------------

# ``./tandem test -m unit`` runs the pure tests alone, in seconds: a test is pure when
# it asks for no server, file or browser fixture (directly or through its fixtures),
# is not marked as needing a server, and its module builds no app or process (imports
# nothing below). A test may also say ``pytest.mark.unit`` itself.
_NEEDS_A_SERVER_OR_FILES = {
    "postgres_server", "kafka_broker", "kafka_bootstrap", "database_url",
    "sqlite_url", "tmp_path", "tmp_path_factory", "page", "browser",
}  # fmt: skip
_BUILDS_AN_APP = (
    "gateway", "launcher", "deploy", "bench", "tests.apps", "httpx", "subprocess",
    "fastapi", "starlette", "schemathesis", "hypothesis",
)  # fmt: skip


def _builds_an_app(module: object) -> bool:
    for value in vars(module).values():
        name = getattr(value, "__module__", None) or getattr(value, "__name__", "")
        if not isinstance(name, str):
            continue
        if name.startswith(_BUILDS_AN_APP) or (
            name.startswith("services.") and name.endswith(".main")
        ):
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    verdicts: dict[object, bool] = {}
    for item in items:
        if any(item.get_closest_marker(m) for m in ("kafka", "postgres", "unit")):
            continue
        if set(getattr(item, "fixturenames", ())) & _NEEDS_A_SERVER_OR_FILES:
            continue
        module = getattr(item, "module", None)
        if module is None:
            continue
        if module not in verdicts:
            verdicts[module] = _builds_an_app(module)
        if not verdicts[module]:
            item.add_marker(pytest.mark.unit)
