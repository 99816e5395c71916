"""A service's confirmation that it erased a person: one row, one route, one shape.

Each service that consumes ``PersonErased`` records, in the transaction of its
handler (so the receipt exists exactly when the erasure's effects do), when it
finished and which of its stores the erasure went through. ``GET
/admin/erasures/{person_id}`` answers it to the tenant's admins as
``{person_id, service, confirmed_at, stores}``, the shape insights answers too, and the
gateway's ``erasureReport`` gathers the answers of every service.

The row is keyed by (tenant, person id), not by a keyed hash of them: the id is a
pseudonymous random id, the row holds nothing else about the person, and the service's
``revoked_subjects`` already keeps the same id with the reason ``erased`` (so a hash
here would hide nothing a database reader could not read beside it). What a receipt
says is only "this id was erased, then".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.fastapi import PrincipalDep
from chassis.auth.principal import Role
from chassis.db import Scrubber, is_sqlite
from chassis.envelope import Envelope
from chassis.errors import NotFound
from chassis.http.openapi import problems
from chassis.inputs import Ref
from chassis.tables import create, erasure_receipts

if TYPE_CHECKING:  # chassis.messaging imports chassis.auth: no cycle at run time
    from chassis.messaging import Handler


async def create_schema(engine: AsyncEngine) -> None:
    """Create ``erasure_receipts`` if it is missing (the start-up safety net)."""
    await create(engine, erasure_receipts)


async def confirm(
    conn: AsyncConnection, tenant: str, person_id: str, stores: Sequence[str]
) -> None:
    """Record, in ``conn``'s transaction, that ``person_id`` was erased from
    ``stores``. A second erasure of the same person keeps the first receipt."""
    now = datetime.now(UTC)
    await conn.execute(
        text(
            "INSERT INTO erasure_receipts (tenant, person_id, confirmed_at, stores) "
            "VALUES (:t, :p, :c, :s) ON CONFLICT (tenant, person_id) DO NOTHING"
        ),
        {
            "t": tenant,
            "p": person_id,
            "c": now.isoformat() if is_sqlite(conn.engine) else now,
            "s": json.dumps(sorted(stores)),
        },
    )


def confirming(
    handler: Handler, stores: Sequence[str], scrubber: Scrubber | None = None
) -> Handler:
    """A ``PersonErased`` handler that runs ``handler``, then records the receipt
    naming ``stores`` in the same transaction; ``scrubber`` (the service's) then
    clears the embedded database's log of the erased values once it commits."""

    async def handle(env: Envelope, conn: AsyncConnection) -> None:
        await handler(env, conn)
        await confirm(conn, env.tenant, env.data["person_id"], stores)
        if scrubber is not None:
            scrubber.soon()

    return handle


class ErasureConfirmation(BaseModel):
    """A service's confirmation that it forgot the person."""

    person_id: str
    service: str
    confirmed_at: str
    stores: list[str]


async def receipt(
    engine: AsyncEngine, service: str, tenant: str, person_id: str
) -> ErasureConfirmation | None:
    """The service's confirmation for ``person_id`` of ``tenant``; ``None`` when it
    has not erased them."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT confirmed_at, stores FROM erasure_receipts "
                    "WHERE tenant = :t AND person_id = :p"
                ),
                {"t": tenant, "p": person_id},
            )
        ).first()
    if row is None:
        return None
    return ErasureConfirmation(
        person_id=person_id,
        service=service,
        confirmed_at=_iso(row.confirmed_at),
        stores=json.loads(row.stores),
    )


def _iso(value: Any) -> str:
    return value if isinstance(value, str) else str(value.isoformat())


def router_for(service: str, engine: AsyncEngine) -> APIRouter:
    """``GET /admin/erasures/{person_id}``: the service's confirmation (admins of
    the person's tenant; 404 when it has not erased them)."""
    router = APIRouter(prefix="/admin", tags=["admin"])

    @router.get("/erasures/{person_id}", responses=problems(403, 404))
    async def erasure_confirmation(
        person_id: Ref, request: Request, principal: PrincipalDep
    ) -> ErasureConfirmation:
        """When this service finished forgetting the person, and in which stores."""
        principal.require(Role.ADMIN)
        found = await receipt(engine, service, principal.tenant, person_id)
        if found is None:
            raise NotFound(f"{service} has not erased this person")
        return found

    return router
