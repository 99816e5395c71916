"""The confirmation that insights forgot a person, for the profiles erasure report.

What an erasure does in insights (tombstones, pseudonyms, the stores it goes through):
``projections/erasure.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.auth.principal import Principal, Role
from chassis.errors import NotFound
from services.insights.projections.erasure import Erasures


@dataclass(frozen=True)
class Receipt:
    person_id: str
    confirmed_at: str
    erased_at: str
    stores: list[str]


class ErasureReceipts:
    """Reads the tombstones' receipts (the tenant's admins)."""

    def __init__(self, engine: AsyncEngine, erasures: Erasures) -> None:
        self.engine = engine
        self.erasures = erasures

    async def of(self, principal: Principal, person_id: str) -> Receipt:
        """When insights finished forgetting the person, and in which stores."""
        principal.require(Role.ADMIN)
        async with self.engine.connect() as conn:
            row = await self.erasures.receipt(conn, principal.tenant, person_id)
        if row is None:
            raise NotFound("insights has not erased this person")
        return Receipt(
            person_id=person_id,
            confirmed_at=row.confirmed_at,
            erased_at=row.erased_at,
            stores=json.loads(row.stores),
        )
