"""One running platform per test module (starting five services takes a while).

Gateway test modules mark themselves ``pytestmark = pytest.mark.asyncio(
loop_scope="module")`` so their tests share the loop the platform runs on.
"""

from __future__ import annotations

import pytest_asyncio

from tests.gateway.platform import running_platform


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def platform(postgres_server, kafka_bootstrap):
    async with running_platform(postgres_server, kafka_bootstrap) as p:
        yield p
