"""A consumer keeps the mark of each event it applied for ``processed_retention_days``
(its dedupe of redeliveries), then forgets it: ``processed_events`` does not grow
with every event ever consumed. On PostgreSQL and on SQLite (the embedded mode)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from chassis.db import create_engine, is_sqlite
from chassis.messaging.consumer import create_consumer_schema, prune_marks
from chassis.runtime import MARKS_JOB, ServiceRuntime
from chassis.settings import ServiceSettings


@pytest.fixture(params=["postgresql", "sqlite"])
def url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(
        "database_url" if request.param == "postgresql" else "sqlite_url"
    )


async def test_marks_older_than_the_retention_are_pruned_in_batches(url: str) -> None:
    engine = create_engine(url)
    try:
        await create_consumer_schema(engine)
        ago = (
            "datetime('now', '-' || :d || ' days')"
            if is_sqlite(engine)
            else "now() - make_interval(days => :d)"
        )
        async with engine.begin() as conn:
            for n, days in enumerate([40] * 7 + [31, 29, 1, 0]):
                await conn.execute(
                    text(
                        "INSERT INTO processed_events (consumer, event_id, "
                        f"processed_at) VALUES (:c, :e, {ago})"
                    ),
                    {"c": f"group-{n % 2}", "e": f"e-{n}", "d": days},
                )
        assert await prune_marks(engine, 30, batch=3) == 8  # three batches and two
        async with engine.connect() as conn:
            left = await conn.execute(
                text("SELECT event_id FROM processed_events ORDER BY event_id")
            )
            assert left.scalars().all() == ["e-10", "e-8", "e-9"]
        assert await prune_marks(engine, 30) == 0
    finally:
        await engine.dispose()


def test_a_consuming_service_prunes_its_marks_hourly(sqlite_url: str) -> None:
    settings = ServiceSettings(
        service_name="retention", environment="test", database_url=sqlite_url
    )
    runtime = ServiceRuntime(settings, consumes=["tandem.profiles.v1"])
    runtime.mount(consumes=["tandem.sessions.v1"])  # mounted again: still one job
    assert [(n, s) for n, _, s in runtime._background] == [(MARKS_JOB, 3600.0)]
    quiet = ServiceRuntime(settings)  # consumes nothing: no marks to prune
    assert quiet._background == []


def test_the_retention_is_a_setting_of_at_least_a_day() -> None:
    assert ServiceSettings(service_name="x").processed_retention_days == 30
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        ServiceSettings(service_name="x", processed_retention_days=0)
