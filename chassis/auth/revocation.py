"""Subjects whose still-valid tokens no service accepts: erased or deactivated people.

A bearer token stays cryptographically valid until it expires; erasing or deactivating
the person in profiles does not change that. So every service keeps, in its own
database, a small view of the subjects it must refuse (``revoked_subjects``), fed by
the profiles events its consumer already handles. The chassis cannot import the
contracts, so it offers the parts and the services wire them to the events:

- :func:`revoke` and :func:`reinstate`, called by a consumer handler in the same
  transaction as the rest of its effect (so a redelivery changes nothing more);
- :func:`revoking` and :func:`reinstating`, which wrap such a handler;
- :class:`Revocations`, set as ``app.state.revocations``: ``get_principal`` asks it,
  one primary-key lookup per authenticated request, and a revoked subject gets 401
  ``invalid_token``.

Why a lookup per request and not an in-process cache: replicas of a service share one
consumer group, so only one replica sees the event; a cache the handler invalidates
would leave the other replicas accepting the token.

An erasure is final: a later deactivation keeps the reason ``erased`` and a
reactivation does not lift it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.principal import Principal
from chassis.auth.tokens import InvalidToken
from chassis.db import first_value
from chassis.envelope import Envelope
from chassis.tables import create, revoked_subjects

if TYPE_CHECKING:  # chassis.messaging imports chassis.auth: no cycle at run time
    from chassis.messaging import Handler

ERASED = "erased"
DEACTIVATED = "deactivated"

_UPSERT = text(
    "INSERT INTO revoked_subjects (tenant, subject, reason) VALUES (:t, :s, :r) "
    "ON CONFLICT (tenant, subject) DO UPDATE SET reason = excluded.reason "
    "WHERE revoked_subjects.reason <> 'erased'"
)
_REINSTATE = text(
    "DELETE FROM revoked_subjects "
    "WHERE tenant = :t AND subject = :s AND reason = 'deactivated'"
)
_LOOKUP = text("SELECT reason FROM revoked_subjects WHERE tenant = :t AND subject = :s")


async def create_schema(engine: AsyncEngine) -> None:
    """Create ``revoked_subjects`` if it is missing (the start-up safety net)."""
    await create(engine, revoked_subjects)


async def revoke(conn: AsyncConnection, tenant: str, subject: str, reason: str) -> None:
    """Refuse ``subject``'s tokens in ``tenant`` from now on, in ``conn``'s
    transaction. ``reason`` is ``erased`` or ``deactivated``; an erasure stays."""
    if reason not in (ERASED, DEACTIVATED):
        raise ValueError(f"unknown revocation reason {reason!r}")
    await conn.execute(_UPSERT, {"t": tenant, "s": subject, "r": reason})


async def reinstate(conn: AsyncConnection, tenant: str, subject: str) -> None:
    """Accept a reactivated subject's tokens again (never an erased one's)."""
    await conn.execute(_REINSTATE, {"t": tenant, "s": subject})


def revoking(reason: str, handler: Handler | None = None) -> Handler:
    """A consumer handler that runs ``handler`` (if any), then revokes the event's
    ``person_id`` for ``reason`` in the same transaction."""

    async def handle(env: Envelope, conn: AsyncConnection) -> None:
        if handler is not None:
            await handler(env, conn)
        await revoke(conn, env.tenant, env.data["person_id"], reason)

    return handle


def reinstating(handler: Handler | None = None) -> Handler:
    """A consumer handler that runs ``handler`` (if any), then reinstates the event's
    ``person_id`` in the same transaction."""

    async def handle(env: Envelope, conn: AsyncConnection) -> None:
        if handler is not None:
            await handler(env, conn)
        await reinstate(conn, env.tenant, env.data["person_id"])

    return handle


class Revocations:
    """The check ``get_principal`` runs: is this caller's subject revoked?"""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def reason(self, tenant: str, subject: str) -> str | None:
        """Why ``subject``'s tokens are refused in ``tenant``; ``None`` when they
        are not."""
        # One statement, no transaction, on the driver directly (``first_value``).
        found = await first_value(self.engine, _LOOKUP, {"t": tenant, "s": subject})
        return None if found is None else str(found)

    @staticmethod
    async def reason_on(conn: AsyncConnection, tenant: str, subject: str) -> str | None:
        """``reason`` on a connection the caller holds (a route that reads through
        one connection takes no second one from the pool for this)."""
        found = (await conn.execute(_LOOKUP, {"t": tenant, "s": subject})).scalar()
        return None if found is None else str(found)

    async def check(self, principal: Principal) -> Principal:
        """Return ``principal``; ``InvalidToken`` (401) when its subject is revoked."""
        reason = await self.reason(principal.tenant, principal.subject)
        if reason is not None:
            raise InvalidToken(f"the person was {reason}; this token is refused")
        return principal
