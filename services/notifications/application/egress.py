"""Outbound HTTP to the addresses integrators give: public hosts only.

A webhook endpoint's URL is an organisation admin's input, and the service posts to it
from inside the platform's network. Checking the URL's host as text when it is
registered does not keep those posts off internal addresses:

- IPv4 has other spellings that the resolver accepts (``127.1``, ``2130706433``,
  ``0x7f000001``, ``0``), and so does a name with a trailing dot (``localhost.``);
- a name resolves wherever its DNS says, at every delivery: an internal address
  from the start, or a public one at registration and another later (rebinding).

So the check is made where the connection is made. ``PublicOnly`` resolves the host,
refuses unless every address is global unicast (no loopback, private, link-local,
shared, reserved or multicast range, IPv4-mapped forms included), and connects to
the address it checked - never resolving the name a second time. TLS still verifies
the certificate against the URL's host name (httpcore sends it as SNI). Redirects are
not followed, and no proxy is taken from the environment: egress goes where it is
checked. ``public_host`` is the same rule for the text of a URL, so an address that
can never be delivered to is refused when it is registered.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
import httpx

Resolve = Callable[[str, int], Awaitable[list[str]]]


class NotPublic(httpcore.ConnectError):
    """The host's address is not a public one: nothing is sent there."""


def public_address(address: str) -> bool:
    """True for a global unicast address (IPv4-mapped IPv6 judged as its IPv4)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _as_ip(host: str) -> str | None:
    """``host`` as an IP address's text when it is one in any spelling the
    resolver takes (``127.1``, ``0x7f000001``, ``2130706433``); else None."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefx." for c in host.lower()):
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            return None
    return None


def public_host(host: str) -> bool:
    """Whether a URL's host may be one: not a local name, not a non-public
    address in any spelling. (A name's addresses are checked at each delivery.)"""
    name = host.lower().rstrip(".")
    if not name or name == "localhost" or name.endswith(".localhost"):
        return False
    ip = _as_ip(name)
    return ip is None or public_address(ip)


async def resolve(host: str, port: int) -> list[str]:
    """The host's addresses, as the system's resolver gives them."""
    found = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM
    )
    return list(dict.fromkeys(str(info[4][0]) for info in found))


class PublicOnly(httpcore.AsyncNetworkBackend):
    """A network backend that connects to public addresses only (see above)."""

    def __init__(
        self,
        resolver: Resolve = resolve,
        backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._resolve = resolver
        self._backend = backend or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        literal = _as_ip(host)
        try:
            addresses = [literal] if literal else await self._resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"{host} does not resolve ({exc})") from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address")
        if not all(public_address(a) for a in addresses):
            raise NotPublic(f"{host} resolves to an address that is not public")
        return await self._backend.connect_tcp(
            addresses[0], port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise NotPublic("a unix socket is not a public address")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class PublicTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over ``PublicOnly`` (no proxy from the environment)."""

    def __init__(self, resolver: Resolve = resolve) -> None:
        super().__init__(trust_env=False)
        limits = httpx.Limits()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PublicOnly(resolver),
        )


def public_client(timeout_s: float, resolver: Resolve = resolve) -> httpx.AsyncClient:
    """An HTTP client that posts to public addresses only, following no redirect."""
    return httpx.AsyncClient(
        timeout=timeout_s,
        follow_redirects=False,
        transport=PublicTransport(resolver),
        trust_env=False,
    )
