"""Live matching news from the broker (``tandem.matching.v1``) via the event hub."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.types import Info

from chassis.auth import Role
from chassis.envelope import Envelope
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
        data = await loader.load(self._pairing_id)
        return Pairing.from_data(data) if isinstance(data, dict) else None


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
        data = await loader.load(self._round_id)
        return MatchingRound.from_data(data) if isinstance(data, dict) else None


def _round_update(data: dict[str, Any]) -> RoundProgressUpdate:
    progress = data.get("progress") or {}
    return RoundProgressUpdate(
        round_id=relay.GlobalID("MatchingRound", data["round_id"]),
        status=RoundStatus(data["status"]),
        phase=str(progress.get("phase") or ""),
        done=int(progress.get("done") or 0),
        total=int(progress.get("total") or 0),
        _round_id=data["round_id"],
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
            if env.type not in KINDS:
                return False
            data = env.data
            if person in (data.get("mentor_id"), data.get("mentee_id")):
                known.add(str(data.get("pairing_id")))
                return True
            return str(data.get("pairing_id") or env.subject) in known

        async with c.hub.listen(principal.tenant, accepts) as queue:
            # Listening first, then learning the pairings so far: nothing is missed.
            mine = await c.caller.get("matching", "/pairings", person_id=person)
            known.update(p["pairing_id"] for p in mine)
            while True:
                env = await queue.get()
                pid = str(env.data.get("pairing_id") or env.subject)
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
            return (
                env.type in ("RoundProgressed", "RoundCompleted", "RoundFailed")
                and env.data.get("round_id") == rid
            )

        async with c.hub.listen(principal.tenant, accepts) as queue:
            now = await c.caller.get(
                "matching", upstream_path("/rounds/{rid}", rid=rid)
            )
            yield _round_update(now)
            if now["status"] != "running":
                return
            while True:
                env = await queue.get()
                if env.type in ("RoundCompleted", "RoundFailed"):
                    final = await c.caller.get(
                        "matching", upstream_path("/rounds/{rid}", rid=rid)
                    )
                    yield _round_update(final)
                    return
                yield RoundProgressUpdate(
                    round_id=relay.GlobalID("MatchingRound", rid),
                    status=RoundStatus.RUNNING,
                    phase=str(env.data.get("phase")),
                    done=int(env.data.get("done") or 0),
                    total=int(env.data.get("total") or 0),
                    _round_id=rid,
                )
