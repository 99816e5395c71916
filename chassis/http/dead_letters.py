"""Dead letters for operators: list them, read one, replay it after the fix.

Two things land in a service's ``dead_letters`` table. The consumer runner
(``consumer.py``) puts there a message it could not apply (and on the dead-letter
topic); replaying it re-publishes the original message (value and headers, keyed by
its CloudEvents subject as the relay keys it) to its ORIGINAL topic, so the consumer
meets it again once its cause is fixed. Every consumer group of that topic receives it
again, addressed to the group that dead-lettered it (``REPLAY_FOR``): the others let
it pass (they applied it, however long ago), and the ``processed_events`` marks make a
second replay harmless for this one. The relay (``chassis/messaging/relay.py``) puts
there an event of the service's own it could not publish (the quarantine); replaying
it reads the event from the store again, translates and publishes it, or answers
``EventUnpublishable`` (409) while its cause is not fixed.

A dead letter belongs to the tenant of its ``ce_tenant`` header: an ``admin`` sees,
reads and replays only their organisation's. The platform ``operator`` sees every
tenant's, and the letters without a readable tenant (a message that is not a
CloudEvent at all), which an admin only sees counted (``unattributed``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field, JsonValue
from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.auth import Principal, Role
from chassis.auth.fastapi import require_roles
from chassis.db import is_sqlite
from chassis.errors import Conflict, NotFound, ServiceUnavailable
from chassis.http.openapi import problems
from chassis.inputs import MAX_REF, REF_PATTERN
from chassis.messaging.transport import REPLAY_FOR, OutboundMessage, Transport

if TYPE_CHECKING:
    from chassis.messaging.relay import Relay

Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.OPERATOR))]
DeadLetterId = Annotated[str, Path(max_length=MAX_REF, pattern=REF_PATTERN)]
REPLAY_HEADER = "x-tandem-replay-of"
COLUMNS = (
    "id, consumer, topic, partition_no, offset_no, event_id, event_type, error, "
    "attempts, headers, value, created_at, replayed_at"
)


def _like_literal(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _tenant_pattern(tenant: str) -> str:
    # ``headers`` holds ``json.dumps`` of [name, value] pairs (see consumer.py).
    return f"%{_like_literal(json.dumps(['ce_tenant', tenant]))}%"


def _headers(row: Row[Any]) -> list[tuple[str, str | None]]:
    try:
        pairs = json.loads(row.headers or "[]")
    except ValueError:
        return []
    return [(str(k), None if v is None else str(v)) for k, v in pairs]


def _tenant_of(row: Row[Any]) -> str | None:
    for name, value in _headers(row):
        if name == "ce_tenant" and value:
            return value
    return None


def _visible(row: Row[Any], principal: Principal) -> bool:
    """An operator sees every tenant's letters; an admin their organisation's."""
    return principal.has_role(Role.OPERATOR) or _tenant_of(row) == principal.tenant


def _stamp(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, datetime):  # SQLite keeps text
        try:
            value = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
    moment: datetime = value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


class DeadLetterHeader(BaseModel):
    name: str
    value: str | None


class DeadLetterSummary(BaseModel):
    """A message this service could not apply (or, from the relay, publish)."""

    id: str
    consumer: str
    source: Literal["consumer", "relay"] = Field(
        description="`relay`: an own event quarantined before publication"
    )
    topic: str
    partition: int = Field(description="-1 for a relay quarantine")
    offset: int
    event_id: str | None
    event_type: str | None
    tenant: str | None = Field(description="null when the message named none")
    reason: str | None = Field(description="The error that dead-lettered it")
    attempts: int
    dead_lettered_at: str | None = Field(description="RFC 3339")
    replayed_at: str | None = Field(description="RFC 3339; null until replayed")


class DeadLetter(DeadLetterSummary):
    """A dead letter with the original message."""

    headers: list[DeadLetterHeader]
    payload: JsonValue = Field(description="The message value decoded, if JSON")
    value: str | None = Field(description="The message value as received")


class DeadLetterPage(BaseModel):
    consumer: str | None = Field(description="This service's consumer group")
    relay: str | None = Field(description="This service's relay, if it has one")
    items: list[DeadLetterSummary]
    next: str | None = Field(description="Cursor of the next page (`after=`)")
    unattributed: int = Field(
        description="Dead letters that name no organisation (operators read them)"
    )


def _summary(row: Row[Any]) -> DeadLetterSummary:
    return DeadLetterSummary(
        id=str(row.id),
        consumer=row.consumer,
        source="relay" if row.partition_no < 0 else "consumer",
        topic=row.topic,
        partition=row.partition_no,
        offset=row.offset_no,
        event_id=row.event_id,
        event_type=row.event_type,
        tenant=_tenant_of(row),
        reason=row.error,
        attempts=row.attempts,
        dead_lettered_at=_stamp(row.created_at),
        replayed_at=_stamp(row.replayed_at),
    )


def _detail(row: Row[Any]) -> DeadLetter:
    try:
        payload = json.loads(row.value) if row.value else None
    except ValueError:
        payload = None
    return DeadLetter(
        **_summary(row).model_dump(),
        headers=[DeadLetterHeader(name=k, value=v) for k, v in _headers(row)],
        payload=payload,
        value=row.value,
    )


def replay_message(row: Row[Any]) -> OutboundMessage:
    """The original message of a dead letter, as it is published again."""
    headers = [(k, v) for k, v in _headers(row) if k not in (REPLAY_HEADER, REPLAY_FOR)]
    subject = next((v for k, v in headers if k == "ce_subject" and v), "")
    return OutboundMessage(
        topic=row.topic,
        key=subject.encode(),
        value=(row.value or "").encode(),
        headers=[
            *[(k, v.encode() if v is not None else b"") for k, v in headers],
            (REPLAY_HEADER, str(row.id).encode()),
            (REPLAY_FOR, str(row.consumer).encode()),  # this group's only
        ],
    )


def dead_letter_router(
    engine: AsyncEngine,
    transport: Transport,
    consumer: str | None,
    *,
    relay: Relay | None = None,
) -> APIRouter:
    """``/admin/dead-letters`` routes over ``consumer``'s dead letters and ``relay``'s
    quarantine (admins for their organisation, operators for all)."""
    if consumer is None and relay is None:
        raise ValueError("dead letters need a consumer or a relay")
    router = APIRouter(prefix="/admin/dead-letters", tags=["operations"])
    owners = [name for name in (consumer, relay.name if relay else None) if name]
    owned = "consumer IN ({})".format(", ".join(f":o{i}" for i in range(len(owners))))
    owner_params: dict[str, Any] = {f"o{i}": name for i, name in enumerate(owners)}

    async def load(dead_letter_id: str, principal: Principal) -> Row[Any]:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        f"SELECT {COLUMNS} FROM dead_letters WHERE id = :id AND {owned}"
                    ),
                    {"id": dead_letter_id, **owner_params},
                )
            ).first()
        # Another organisation's letter is "not found": its existence is not ours.
        if row is None or not _visible(row, principal):
            raise NotFound(f"no dead letter {dead_letter_id}")
        return row

    @router.get(
        "",
        summary="Dead letters of this service's consumer, newest first",
        responses=problems(403),
    )
    async def list_dead_letters(
        principal: Admin,
        replayed: bool | None = Query(
            None, description="Only replayed (true) or not yet replayed (false) ones"
        ),
        after: str | None = Query(
            None,
            description="Cursor: the `next` of the previous page",
            max_length=MAX_REF,
            pattern=REF_PATTERN,
        ),
        limit: int = Query(50, ge=1, le=500),
    ) -> DeadLetterPage:
        """A page of this organisation's dead letters (every one for an operator),
        without their payloads."""
        where = [owned]
        params: dict[str, Any] = {**owner_params, "limit": limit + 1}
        if not principal.has_role(Role.OPERATOR):
            where.append("headers LIKE :tenant ESCAPE '\\'")
            params["tenant"] = _tenant_pattern(principal.tenant)
        if replayed is not None:
            where.append(f"replayed_at IS {'NOT ' if replayed else ''}NULL")
        if after:
            where.append(
                "(created_at, id) < (SELECT created_at, id FROM dead_letters "
                "WHERE id = :after)"
            )
            params["after"] = after
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        f"SELECT {COLUMNS} FROM dead_letters "
                        f"WHERE {' AND '.join(where)} "
                        "ORDER BY created_at DESC, id DESC LIMIT :limit"
                    ),
                    params,
                )
            ).all()
            unattributed = (
                await conn.execute(
                    text(
                        f"SELECT count(*) FROM dead_letters WHERE {owned} "
                        "AND headers NOT LIKE '%\"ce\\_tenant\"%' ESCAPE '\\'"
                    ),
                    owner_params,
                )
            ).scalar_one()
        page = rows[:limit]
        return DeadLetterPage(
            consumer=consumer,
            relay=relay.name if relay else None,
            items=[_summary(r) for r in page if _visible(r, principal)],
            next=str(page[-1].id) if len(rows) > limit else None,
            unattributed=unattributed,
        )

    @router.get(
        "/{dead_letter_id}",
        summary="One dead letter with its message",
        responses=problems(403, 404),
    )
    async def get_dead_letter(
        dead_letter_id: DeadLetterId, principal: Admin
    ) -> DeadLetter:
        """A dead letter with the original message's headers and payload."""
        return _detail(await load(dead_letter_id, principal))

    @router.post(
        "/{dead_letter_id}/replay",
        status_code=202,
        summary="Publish the original message again to its original topic",
        responses=problems(403, 404, 409),
    )
    async def replay_dead_letter(
        dead_letter_id: DeadLetterId,
        principal: Admin,
        force: bool = Query(False, description="Replay even if replayed before"),
    ) -> DeadLetter:
        """Re-publish the message; the consumer applies it once its cause is fixed."""
        row = await load(dead_letter_id, principal)
        quarantined = relay is not None and row.consumer == relay.name
        # A quarantined event is translated and checked before anything is claimed.
        messages = (
            await relay.replay_messages(row.event_id)
            if relay is not None and quarantined
            else [replay_message(row)]
        )
        now = datetime.now(UTC)
        stamp: Any = now.isoformat() if is_sqlite(engine) else now
        claim = "UPDATE dead_letters SET replayed_at = :now WHERE id = :id"
        if not force:
            claim += " AND replayed_at IS NULL"
        # The claim's row lock makes a concurrent replay wait, then see it replayed;
        # it commits only once the broker acknowledged the message.
        async with engine.begin() as conn:
            claimed = (
                await conn.execute(text(claim), {"now": stamp, "id": row.id})
            ).rowcount
            if claimed and relay is not None and quarantined:
                await relay.publish_replay(messages)
            elif claimed:
                try:
                    await transport.publish(messages)
                except Exception as exc:
                    raise ServiceUnavailable(
                        f"the broker did not take the message ({type(exc).__name__}); "
                        "retry shortly"
                    ) from exc
        if not claimed:
            again = await load(dead_letter_id, principal)
            raise Conflict(
                f"dead letter {dead_letter_id} was already replayed; "
                "add ?force=true to replay it again",
                replayed_at=_stamp(again.replayed_at),
            )
        return _detail(await load(dead_letter_id, principal))

    return router
