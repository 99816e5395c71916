"""The gateway's HTTP/1.1 client to the services (``gateway.http11``), against a
scripted server: keep-alive, the answers' framings, a closed or silent service."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from chassis.auth import Principal
from gateway.http11 import ServicePool, UpstreamTimeout, UpstreamUnreachable
from gateway.settings import GatewaySettings
from gateway.upstream import ServiceDown, UpstreamError, Upstreams

pytestmark = pytest.mark.asyncio

# (request line, headers, body) -> raw answer bytes, or None to close the connection
Script = Callable[[str, dict[str, str], bytes], bytes | None]


def answer(body: object, status: str = "200 OK", extra: str = "") -> bytes:
    data = json.dumps(body).encode()
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(data)}\r\n{extra}\r\n"
    ).encode() + data


class Server:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.connections = 0
        self.writers: list[asyncio.StreamWriter] = []

    async def handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, *rest = head.decode("latin-1").split("\r\n")
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (h.partition(":") for h in rest if h)
                }
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                self.requests.append((line, headers, body))
                out = self.script(line, headers, body)
                if out is None:
                    break
                writer.write(out)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def serving(script: Script) -> AsyncIterator[tuple[Server, str]]:
    server = Server(script)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        for w in server.writers:
            w.close()
        listener.close()
        await listener.wait_closed()


async def test_calls_share_one_keep_alive_connection():
    async with serving(lambda *_: answer({"ok": True})) as (server, url):
        pool = ServicePool(url, timeout=5, max_connections=4)
        for _ in range(5):
            got = await pool.request("GET", "/people", {"accept": "application/json"})
            assert got.status_code == 200 and got.json() == {"ok": True}
        await pool.aclose()
    assert server.connections == 1
    line, headers, _ = server.requests[0]
    assert line == "GET /people HTTP/1.1"
    assert headers["host"] == url.removeprefix("http://")


async def test_concurrent_calls_open_at_most_max_connections():
    async with serving(lambda *_: answer([1])) as (server, url):
        pool = ServicePool(url, timeout=5, max_connections=2)
        answers = await asyncio.gather(
            *(pool.request("GET", "/x", {}) for _ in range(10))
        )
        await pool.aclose()
    assert [a.json() for a in answers] == [[1]] * 10
    assert server.connections <= 2


async def test_a_chunked_answer_and_a_connection_close_answer_are_read():
    chunked = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        b"transfer-encoding: chunked\r\n\r\n5\r\n[1, 2\r\n2\r\n, \r\n2\r\n3]\r\n0\r\n\r\n"
    )
    replies = iter([chunked, answer({"last": 1}, extra="connection: close\r\n")])
    async with serving(lambda *_: next(replies, answer({}))) as (server, url):
        pool = ServicePool(url, timeout=5, max_connections=4)
        assert (await pool.request("GET", "/a", {})).json() == [1, 2, 3]
        assert (await pool.request("GET", "/b", {})).json() == {"last": 1}
        assert (await pool.request("GET", "/c", {})).json() == {}
        await pool.aclose()
    assert server.connections == 2  # the "close" answer's connection was not reused


async def test_an_idle_connection_the_service_closed_is_not_reused():
    async with serving(lambda *_: answer({"n": 1})) as (server, url):
        pool = ServicePool(url, timeout=5, max_connections=4)
        await pool.request("POST", "/batch", {}, b"{}")
        for w in server.writers:
            w.close()  # the service's keep-alive timeout
        await asyncio.sleep(0.05)
        got = await pool.request("POST", "/batch", {}, b"{}")
        await pool.aclose()
    assert got.json() == {"n": 1}
    assert server.connections == 2


async def test_a_service_that_does_not_answer_times_out_and_its_connection_is_dropped():
    replies = iter([b"", answer({"late": False})])

    def script(*_: object) -> bytes | None:
        return next(replies)  # the first request gets nothing back

    async with serving(script) as (server, url):
        pool = ServicePool(url, timeout=0.2, max_connections=4)
        with pytest.raises(UpstreamTimeout):
            await pool.request("GET", "/slow", {})
        got = await pool.request("GET", "/fast", {})
        await pool.aclose()
    assert got.json() == {"late": False}
    assert server.connections == 2


async def test_a_dropped_connection_and_a_refused_one_are_unreachable():
    async with serving(lambda *_: None) as (_server, url):
        pool = ServicePool(url, timeout=5, max_connections=4)
        with pytest.raises(UpstreamUnreachable):
            await pool.request("POST", "/x", {}, b"{}")
        await pool.aclose()
    pool = ServicePool(url, timeout=5, max_connections=4)  # nothing listens now
    with pytest.raises(UpstreamUnreachable):
        await pool.request("GET", "/x", {})


async def test_a_header_with_a_line_break_is_refused_before_anything_is_sent():
    async with serving(lambda *_: answer({})) as (server, url):
        pool = ServicePool(url, timeout=5, max_connections=4)
        with pytest.raises(ValueError):
            await pool.request("GET", "/x", {"x-request-id": "a\r\nx-admin: 1"})
        with pytest.raises(ValueError):
            await pool.request("HEAD", "/x", {})  # its framing is not read here
        await pool.aclose()
    assert server.requests == []


async def test_the_caller_sends_query_json_and_headers_as_httpx_did():
    def script(line: str, headers: dict[str, str], body: bytes) -> bytes:
        if line.startswith("GET /missing"):
            problem = {"code": "NotFound", "detail": "no such person", "status": 404}
            return answer(problem, "404 Not Found")
        return answer({"echo": json.loads(body) if body else None})

    async with serving(script) as (server, url):
        settings = GatewaySettings(
            environment="test", kafka_bootstrap_servers=None, profiles_url=url
        )
        upstreams = Upstreams(settings)
        seen: list[tuple[str, str, str]] = []
        upstreams.observers.append(lambda *call: seen.append(call))
        caller = upstreams.caller(Principal("p-1", "t-1", frozenset(), "tok"), "r-1")
        got = await caller.get(
            "profiles", "/people", status="active", include=True, after=None
        )
        posted = await caller.post("profiles", "/people/batch", {"ids": ["é"]})
        with pytest.raises(UpstreamError) as refused:
            await caller.get("profiles", "/missing")
        await upstreams.aclose()
    assert got == {"echo": None}
    assert posted == {"echo": {"ids": ["é"]}}
    assert refused.value.code == "NotFound" and refused.value.status == 404
    (line, headers, _), (post_line, post_headers, body), _ = server.requests
    assert line == "GET /people?status=active&include=true HTTP/1.1"
    assert headers["authorization"] == "Bearer tok"
    assert headers["x-request-id"] == "r-1"
    assert post_line == "POST /people/batch HTTP/1.1"
    assert post_headers["content-type"] == "application/json"
    assert body == '{"ids":["é"]}'.encode()
    assert seen[0] == ("profiles", "GET", "/people")
    assert caller.calls == 3


async def test_a_service_down_is_service_down():
    settings = GatewaySettings(
        environment="test",
        kafka_bootstrap_servers=None,
        profiles_url="http://127.0.0.1:9",
    )
    upstreams = Upstreams(settings)
    caller = upstreams.caller(Principal("p-1", "t-1", frozenset(), "tok"), None)
    with pytest.raises(ServiceDown) as down:
        await caller.get("profiles", "/people")
    assert down.value.code == "ServiceUnavailable"
    await upstreams.aclose()


def closing_the_second_request() -> Script:
    """Answers, except that the second request is read and its connection closed
    with no answer: a service's keep-alive timeout racing the gateway's next call."""
    seen = {"n": 0}

    def script(*_: object) -> bytes | None:
        seen["n"] += 1
        return None if seen["n"] == 2 else answer({"n": seen["n"]})

    return script


async def test_a_batch_read_on_a_connection_closed_under_it_is_sent_again():
    async with serving(closing_the_second_request()) as (server, url):
        settings = GatewaySettings(
            environment="test", kafka_bootstrap_servers=None, profiles_url=url
        )
        upstreams = Upstreams(settings)
        caller = upstreams.caller(Principal("p-1", "t-1", frozenset(), "tok"), None)
        await caller.read_batch("profiles", "/people/batch", {"ids": ["a"]})
        again = await caller.read_batch("profiles", "/people/batch", {"ids": ["a"]})
        await upstreams.aclose()
    assert json.loads(again) == {"n": 3}  # the dropped second call, sent again
    assert server.connections == 2
    assert caller.calls == 2  # one call for the caller, whatever the retries


async def test_a_post_that_may_have_acted_is_not_sent_again():
    async with serving(closing_the_second_request()) as (server, url):
        pool = ServicePool(url, timeout=5, max_connections=4)
        await pool.request("POST", "/people", {}, b"{}")
        with pytest.raises(UpstreamUnreachable):
            await pool.request("POST", "/people", {}, b"{}")
        await pool.aclose()
    assert len(server.requests) == 2  # the service read it; it is not repeated
    assert server.connections == 1


async def test_a_connection_idle_past_its_expiry_is_not_reused():
    async with serving(lambda *_: answer({"ok": 1})) as (server, url):
        pool = ServicePool(url, timeout=5, max_connections=4, keepalive_expiry=0.05)
        await pool.request("POST", "/people", {}, b"{}")
        await pool.request("POST", "/people", {}, b"{}")  # reused: still fresh
        await asyncio.sleep(0.1)
        got = await pool.request("POST", "/people", {}, b"{}")
        await pool.aclose()
    assert got.json() == {"ok": 1}
    assert server.connections == 2


async def test_a_call_may_have_its_own_deadline():
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(0.3)
        writer.write(answer({"done": True}))
        await writer.drain()
        writer.close()

    listener = await asyncio.start_server(slow, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    pool = ServicePool(url, timeout=0.1, max_connections=4)
    with pytest.raises(UpstreamTimeout):
        await pool.request("POST", "/rounds", {})
    got = await pool.request("POST", "/rounds", {}, deadline_s=2)
    await pool.aclose()
    listener.close()
    await listener.wait_closed()
    assert got.json() == {"done": True}
