"""``chassis.service``: a service is a typed ``ServicePart`` the chassis serves.

Routes reach the application through ``provided``, the part's tables are created at
start, inbound events reach the part's handlers, and an erasure goes through the
chassis's wrapping (tokens refused, receipt written) without the service wiring it.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends
from sqlalchemy import Column, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth.fastapi import PrincipalDep
from chassis.auth.tokens import mint_token
from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.messaging import InProcessBus, OutboundMessage, topic_for
from chassis.runtime import ServiceRuntime
from chassis.service import Erasure, ServicePart, mounted, provided, serve
from chassis.settings import DEFAULT_DEV_SECRET, ServiceSettings
from tests.apps import serving
from tests.support.waiting import until

metadata = MetaData()
greetings = Table(
    "greetings",
    metadata,
    Column("person_id", String, primary_key=True),
    Column("tenant", String, nullable=False),
)


class Greeter:
    """The application object the routes depend on."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self.engine = runtime.engine

    async def greeted(self, tenant: str) -> list[str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(greetings.c.person_id).where(greetings.c.tenant == tenant)
            )
            return [r.person_id for r in rows]


GreeterDep = Annotated[Greeter, Depends(provided(Greeter))]


def build_part(runtime: ServiceRuntime) -> ServicePart:
    greeter = Greeter(runtime)
    router = APIRouter()

    @router.get("/greeted")
    async def greeted(principal: PrincipalDep, app: GreeterDep) -> list[str]:
        return await app.greeted(principal.tenant)

    async def on_person_created(env: Envelope, conn: AsyncConnection) -> None:
        await conn.execute(
            insert(greetings).values(person_id=env.data["person_id"], tenant=env.tenant)
        )

    async def forget(env: Envelope, conn: AsyncConnection) -> None:
        await conn.execute(
            greetings.delete().where(greetings.c.person_id == env.data["person_id"])
        )

    return ServicePart(
        title="Greeter",
        routers=[router],
        tables=metadata,
        consumes=[topic_for("profiles")],
        handlers={"PersonCreated": on_person_created},
        erasure=Erasure(stores=["greetings", "revoked_subjects"], forget=forget),
        provides=[greeter],
    )


async def publish(bus: InProcessBus, event_type: str, person: str) -> None:
    envelope = Envelope(
        id=str(uuid.uuid4()),
        source="tandem/profiles",
        type=event_type,
        subject=person,
        time=utcnow(),
        data={"person_id": person},
        tenant="acme",
    )
    await bus.publish([OutboundMessage.of(topic_for("profiles"), envelope)])


def bearer(subject: str, tenant: str = "acme") -> dict[str, str]:
    jwt = mint_token(
        DEFAULT_DEV_SECRET, subject, tenant, ["admin"], "tandem-dev", "tandem"
    )
    return {"Authorization": f"Bearer {jwt}"}


async def test_a_part_is_served_with_its_tables_handlers_and_erasure(
    sqlite_url: str,
) -> None:
    bus = InProcessBus()
    settings = ServiceSettings(
        service_name=f"greeter{uuid.uuid4().hex[:6]}",
        environment="test",
        database_url=sqlite_url,
    )
    app = serve(settings, build_part, transport=bus)
    runtime = mounted(app).runtime
    async with serving(app, "greeter") as client:
        client: httpx.AsyncClient  # type: ignore[no-redef]
        person = str(uuid.uuid4())
        await publish(bus, "PersonCreated", person)

        async def greeted() -> list[str]:
            answer = await client.get("/greeted", headers=bearer(person))
            return answer.json() if answer.status_code == 200 else []

        assert await until(greeted, "the greeting") == [person]

        await publish(bus, "PersonErased", person)

        async def refused() -> bool:
            answer = await client.get("/greeted", headers=bearer(person))
            return answer.status_code == 401

        assert await until(refused, "the token refused")
        other = bearer(str(uuid.uuid4()))
        assert (await client.get("/greeted", headers=other)).json() == []
        receipt = await client.get(f"/admin/erasures/{person}", headers=other)
        assert receipt.status_code == 200
        assert receipt.json()["stores"] == ["greetings", "revoked_subjects"]
    assert runtime.tables is metadata
