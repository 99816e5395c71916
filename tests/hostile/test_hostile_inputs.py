"""Every route of every service, attacked one field at a time, on PostgreSQL.

The routes and fields come from each service's own OpenAPI document; the values are
the attacker's (NUL bytes, 1 MB strings, 10,000-item lists, 2^31 / 2^63 / -2^63, the
years 9999 and 1, ids that do not exist, ids of another organisation). Every answer
must be a typed 4xx (problem+json with a ``code``), or a 2xx where the value is
acceptable (an unknown id in a filter), never a 5xx; a refused request leaves the
event store and every projection as they were. See ``runner`` for the verdicts and
``platform`` for the seeded resources.

The services run one at a time on databases seeded while all five ran together, so
nothing another service does in reaction moves the state the suite compares.
"""

from __future__ import annotations

import pytest
import pytest_asyncio

from tests.apps import serving
from tests.hostile.platform import SERVICES, Seeded, build, seed_platform
from tests.hostile.runner import ServiceAttack
from tests.hostile.state import StateReader, caught_up
from tests.hostile.verdicts import COLLECTED, tapped_logs

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.postgres,
    pytest.mark.asyncio(loop_scope="module"),
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def seeded(postgres_server, kafka_bootstrap) -> Seeded:
    return await seed_platform(postgres_server, kafka_bootstrap)


@pytest.mark.parametrize("service", SERVICES)
async def test_hostile_input_is_refused_typed_and_changes_nothing(
    seeded: Seeded, kafka_bootstrap: str, service: str
) -> None:
    app = build(service, seeded.databases[service], kafka_bootstrap)
    async with serving(app, service) as client:
        reader = StateReader(app.state.runtime.engine, [seeded.home, seeded.foreign])
        await caught_up(app, reader)
        with tapped_logs() as logs:
            attack = ServiceAttack(
                service,
                app.openapi(),
                client,
                reader,
                seeded.seeds[seeded.home],
                seeded.seeds[seeded.foreign],
                seeded.callers(),
                logs,
                foreign_reader=StateReader(app.state.runtime.engine, [seeded.foreign]),
            )
            report = await attack.run()
    COLLECTED[service] = report
    assert report.tally.requests >= report.operations, report.explain()
    if report.failed:
        seeding = "\n".join(seeded.failed_steps)
        pytest.fail(
            report.explain()
            + (f"\n\nseed steps that failed:\n{seeding}" * bool(seeding)),
            pytrace=False,
        )
