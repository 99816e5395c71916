"""The seeder's view of the platform: its public REST APIs, as one caller or another."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

OK = frozenset({200, 201, 202, 204})


class SeedFailed(RuntimeError):
    """A step of the demo seeding was refused or never happened; the message says which."""


class Api:
    """Calls ``client`` (the platform root) with a bearer token per call."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.calls = 0

    async def call(
        self,
        method: str,
        path: str,
        token: str,
        body: Any = None,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        self.calls += 1
        response = await self.client.request(
            method,
            path,
            json=body,
            params=params,
            headers={"Authorization": f"Bearer {token}", **(headers or {})},
        )
        if response.status_code not in OK:
            raise SeedFailed(
                f"{method} {path} answered {response.status_code}: "
                f"{response.text[:600]}"
            )
        return response.json() if response.content else None

    async def get(self, path: str, token: str, **params: Any) -> Any:
        return await self.call("GET", path, token, params=params or None)

    async def post(self, path: str, token: str, body: Any = None, **kw: Any) -> Any:
        return await self.call(
            "POST", path, token, body if body is not None else {}, **kw
        )

    async def put(self, path: str, token: str, body: Any) -> Any:
        return await self.call("PUT", path, token, body)


async def until(
    check: Callable[[], Awaitable[Any]], what: str, timeout_s: float = 60
) -> Any:
    """Poll ``check`` until it returns something truthy; SeedFailed after the deadline.

    Services react to each other's events asynchronously (the bus), so the seeder
    waits for the effect it needs next instead of sleeping a fixed time.
    """
    deadline = time.monotonic() + timeout_s
    delay = 0.02
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise SeedFailed(f"timed out after {timeout_s:g} s waiting for {what}")
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.25)
