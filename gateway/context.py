"""The per-request context: who calls, how to reach the services, and the loaders.

Built by the router's context getter for every HTTP request and every websocket
operation. DataLoaders are created here, per request, so batching never mixes two
callers' data and caches never outlive a request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from graphql import GraphQLError
from pydantic import BaseModel
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext
from strawberry.types import Info

from chassis.auth import Principal, Role, TokenVerifier
from chassis.errors import Unauthenticated
from gateway.answers import read
from gateway.hub import EventHub
from gateway.settings import GatewaySettings
from gateway.upstream import Caller, UpstreamError, Upstreams

# An ``Authorization`` header longer than this is refused before it is verified or
# forwarded (a real token is well under 2 KB; a 4 MB one is an attack).
MAX_AUTHORIZATION_BYTES = 8192

if TYPE_CHECKING:  # gateway.history's resolvers import this module
    from gateway.history.jobs import HistoryImports

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Item = TypeVar("Item")
Answer = TypeVar("Answer", bound=BaseModel)


def bearer_token(header: str) -> str:
    """The token of an ``Authorization: Bearer <token>`` header, size-checked first."""
    if len(header) > MAX_AUTHORIZATION_BYTES:
        raise Unauthenticated(
            f"the Authorization header is longer than {MAX_AUTHORIZATION_BYTES} bytes"
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("use an `Authorization: Bearer <token>` header")
    return token.strip()


class Context(BaseContext):
    def __init__(
        self,
        settings: GatewaySettings,
        upstreams: Upstreams,
        verifier: TokenVerifier,
        principal: Principal | None,
        request_id: str | None,
        hub: EventHub,
        history: HistoryImports | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.upstreams = upstreams
        self.verifier = verifier
        self.principal_or_none = principal
        self.request_id = request_id
        self._caller: Caller | None = (
            upstreams.caller(principal, request_id) if principal else None
        )
        self.hub = hub
        # The programme-history imports this process runs (gateway.history).
        self._history = history
        # What this HTTP request's operations have cost so far (None: no budget).
        self.spent_cost: int | None = None
        self._loaders: dict[Hashable, DataLoader[Any, Any]] = {}

    def _from_connection_params(self) -> None:
        # graphql-transport-ws: the token travels in the connection_init payload.
        params = self.connection_params
        if self.principal_or_none is not None or not isinstance(params, dict):
            return
        raw = str(params.get("authorization") or params.get("Authorization") or "")
        if len(raw) > MAX_AUTHORIZATION_BYTES:
            raise GraphQLError(
                f"the authorization is longer than {MAX_AUTHORIZATION_BYTES} bytes",
                extensions={"code": "Unauthenticated"},
            )
        token = raw.removeprefix("Bearer ").strip()
        if token:
            self.principal_or_none = self.verifier.verify(token)
            self._caller = self.upstreams.caller(self.principal_or_none, None)

    @property
    def principal(self) -> Principal:
        """The authenticated caller; a clear error when there is none."""
        self._from_connection_params()
        if self.principal_or_none is None:
            raise GraphQLError(
                "a bearer token is required (Authorization: Bearer <token>)",
                extensions={"code": "Unauthenticated"},
            )
        return self.principal_or_none

    @property
    def caller(self) -> Caller:
        self.principal  # noqa: B018 — authentication first
        assert self._caller is not None
        return self._caller

    @property
    def history(self) -> HistoryImports:
        """The programme-history imports of this process (the app's)."""
        if self._history is None:
            from gateway.history.jobs import HistoryImports

            self._history = HistoryImports()
        return self._history

    def has_role(self, *roles: Role) -> bool:
        return self.principal_or_none is not None and self.principal.has_role(*roles)

    def release(self) -> None:
        """Drop what the request loaded, once it is answered. Each loader's batch
        function refers back to this context, so without this the request's whole
        answer (loaders, their futures, every model read) would wait for the cycle
        collector instead of being freed at once."""
        self._loaders.clear()

    def loader(
        self,
        key: Hashable,
        batch: Callable[[list[K]], Awaitable[Sequence[V | BaseException]]],
    ) -> DataLoader[K, V]:
        """The request's DataLoader named ``key`` (created on first use).

        ``batch`` receives every key asked for in one tick and must answer one value
        per key, in order (an exception instance fails only that key).
        """
        found = self._loaders.get(key)
        if found is None:

            async def load(keys: list[K]) -> list[V | BaseException]:
                try:
                    return list(await batch(keys))
                except UpstreamError as exc:
                    return [exc] * len(keys)

            created = DataLoader(load_fn=load, max_batch_size=200)
            self._loaders[key] = created
            return created
        return found

    def by_id(
        self,
        service: str,
        path: str,
        answer: type[Answer],
        items: Callable[[Answer], Sequence[Item]],
        key: Callable[[Item], str],
    ) -> DataLoader[str, Item | None]:
        """The loader over a service's batch read ``POST path {"ids": [...]}``,
        whose answer (read as ``answer``) lists the ``items`` the caller may see,
        each carrying its id (``key``); an id left out loads as ``None``."""

        async def batch(ids: Sequence[str]) -> list[Item | None]:
            body = read(
                answer,
                await self.caller.read_batch(service, path, {"ids": list(ids)}),
                service,
            )
            found = {key(item): item for item in items(body)}
            return [found.get(i) for i in ids]

        return self.loader((service, "by_id", path), batch)


def ctx(info: Info) -> Context:
    """The typed context of ``info``."""
    return info.context
