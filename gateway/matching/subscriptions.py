"""Live matching news from the broker (``tandem.matching.v1``) via the event hub.

Events are read through their contracts (``contracts.matching``, lifted to the
current version); one that does not fit is logged and skipped. The service's answers
are read through ``contracts.api.matching``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated

import strawberry
from graphql import GraphQLError
from pydantic import ValidationError
from strawberry import relay
from strawberry.types import Info

from chassis.auth import Role
from chassis.envelope import Envelope
from chassis.errors import TandemError
from chassis.events import EventPayload
from contracts import matching as events
from contracts.api import matching as api
from gateway.answers import read, read_list
from gateway.context import ctx
from gateway.enums import PairingUpdateKind, RoundStatus
from gateway.ids import local_id
from gateway.matching import loaders
from gateway.matching.types import MatchingRound, Pairing
from gateway.upstream import upstream_path

KINDS = {
    "PairingProposed": "proposed",
    "PairingApproved": "approved",
    "PairingAccepted": "accepted",
    "PairingConfirmed": "confirmed",
    "PairingDeclined": "declined",
    "PairingExpired": "expired",
    "PairingWithdrawn": "withdrawn",
    "PairingEnded": "ended",
}
OVERSEERS = (Role.ADMIN, Role.COORDINATOR)
log = logging.getLogger(__name__)

# The events that say which two people a pairing is between.
BETWEEN = (
    events.PairingProposed,
    events.PairingApproved,
    events.PairingConfirmed,
    events.PairingEnded,
)
PairingEvent = (
    events.PairingProposed
    | events.PairingApproved
    | events.PairingAccepted
    | events.PairingConfirmed
    | events.PairingDeclined
    | events.PairingExpired
    | events.PairingWithdrawn
    | events.PairingEnded
)
ROUND_ENDS = ("RoundCompleted", "RoundFailed")


def _payload(env: Envelope) -> EventPayload | None:
    """The event's data as its contract (lifted to the current version); ``None``
    (logged) when it does not fit."""
    try:
        return events.registry.decode(env.type, env.schema_version, env.data)
    except (ValidationError, TandemError) as exc:
        log.error(
            "matching event %s %s does not fit its contract: %s", env.type, env.id, exc
        )
        return None


def _pairing_event(env: Envelope) -> PairingEvent | None:
    """A pairing's step, read through its contract (``None`` for anything else)."""
    if env.type not in KINDS:
        return None
    payload = _payload(env)
    return payload if isinstance(payload, PairingEvent) else None


def forbidden(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "Forbidden"})


@strawberry.type(description="Something happened to one of a person's pairings.")
class PairingUpdate:
    kind: PairingUpdateKind = strawberry.field(description="What happened.")
    pairing_id: relay.GlobalID = strawberry.field(description="The pairing's id.")
    at: datetime = strawberry.field(description="When it happened.")
    _pairing_id: strawberry.Private[str]

    @strawberry.field(description="The pairing as it is now (null if not visible).")
    async def pairing(self, info: Info) -> Pairing | None:
        loader = loaders.pairings(info)
        with contextlib.suppress(KeyError):  # a subscription lives long: read afresh
            loader.clear(self._pairing_id)
        found = await loader.load(self._pairing_id)
        return Pairing.from_model(found) if found else None


@strawberry.type(description="A round moved on (a phase, or its end).")
class RoundProgressUpdate:
    round_id: relay.GlobalID = strawberry.field(description="The round's id.")
    status: RoundStatus = strawberry.field(description="Where the round stands.")
    phase: str = strawberry.field(description="The phase reached.")
    done: int = strawberry.field(description="Steps done in this phase.")
    total: int = strawberry.field(description="Steps in this phase.")
    _round_id: strawberry.Private[str]

    @strawberry.field(description="The round as it is now.")
    async def round(self, info: Info) -> MatchingRound | None:
        loader = loaders.rounds(info)
        with contextlib.suppress(KeyError):
            loader.clear(self._round_id)
        found = await loader.load(self._round_id)
        return MatchingRound.from_model(found) if found else None


def _round_update(answer: api.RoundView) -> RoundProgressUpdate:
    return RoundProgressUpdate(
        round_id=relay.GlobalID("MatchingRound", answer.round_id),
        status=RoundStatus(answer.status.value),
        phase=answer.progress.phase,
        done=answer.progress.done,
        total=answer.progress.total,
        _round_id=answer.round_id,
    )


@strawberry.type
class MatchingSubscription:
    @strawberry.subscription(
        description="Changes to a person's pairings as they happen. A person may "
        "follow only themselves; coordinators and admins anyone of their organisation."
    )
    async def pairing_updates(
        self,
        info: Info,
        person_id: Annotated[
            strawberry.ID, strawberry.argument(description="The person (a Person).")
        ],
    ) -> AsyncGenerator[PairingUpdate, None]:
        c = ctx(info)
        principal = c.principal
        person = local_id(person_id, "Person", "personId")
        if person != principal.subject and not principal.has_role(*OVERSEERS):
            raise forbidden("you may follow only your own pairings")
        known: set[str] = set()

        def accepts(env: Envelope) -> bool:
            step = _pairing_event(env)
            if step is None:
                return False
            if isinstance(step, BETWEEN) and person in (step.mentor_id, step.mentee_id):
                known.add(step.pairing_id)
                return True
            return step.pairing_id in known

        async with c.hub.listen(principal.tenant, accepts) as queue:
            # Listening first, then learning the pairings so far: nothing is missed.
            mine = read_list(
                api.PairingView,
                await c.caller.get("matching", "/pairings", person_id=person),
                "matching",
            )
            known.update(p.pairing_id for p in mine)
            while True:
                env = await queue.get()
                step = _pairing_event(env)
                if step is None:
                    continue
                pid = step.pairing_id
                yield PairingUpdate(
                    kind=PairingUpdateKind(KINDS[env.type]),
                    pairing_id=relay.GlobalID("Pairing", pid),
                    at=env.time,
                    _pairing_id=pid,
                )

    @strawberry.subscription(
        description="A round's progress, phase by phase, until it completes "
        "(coordinators and sponsors)."
    )
    async def round_progress(
        self,
        info: Info,
        round_id: Annotated[
            strawberry.ID, strawberry.argument(description="The round.")
        ],
    ) -> AsyncGenerator[RoundProgressUpdate, None]:
        c = ctx(info)
        principal = c.principal
        rid = local_id(round_id, "MatchingRound", "roundId")

        def accepts(env: Envelope) -> bool:
            if env.type not in ("RoundProgressed", *ROUND_ENDS):
                return False
            payload = _payload(env)
            return (
                isinstance(
                    payload,
                    events.RoundProgressed | events.RoundCompleted | events.RoundFailed,
                )
                and payload.round_id == rid
            )

        async def now() -> api.RoundView:
            return read(
                api.RoundView,
                await c.caller.get("matching", upstream_path("/rounds/{rid}", rid=rid)),
                "matching",
            )

        async with c.hub.listen(principal.tenant, accepts) as queue:
            current = await now()
            yield _round_update(current)
            if current.status is not api.RoundStatus.RUNNING:
                return
            while True:
                env = await queue.get()
                if env.type in ROUND_ENDS:
                    yield _round_update(await now())
                    return
                progressed = _payload(env)
                if not isinstance(progressed, events.RoundProgressed):
                    continue
                yield RoundProgressUpdate(
                    round_id=relay.GlobalID("MatchingRound", rid),
                    status=RoundStatus.RUNNING,
                    phase=progressed.phase,
                    done=progressed.done,
                    total=progressed.total,
                    _round_id=rid,
                )
