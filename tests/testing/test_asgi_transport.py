"""ASGITransport: keyproxy's upstream requests to an ASGI app in the same loop, as a socket would carry them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from keyproxy.errors import InvalidUpstreamResponse, UpstreamTimeout
from keyproxy.testing import ASGITransport, FakeUpstream, Fault, FaultKind
from keyproxy.transport import RequestTimeouts, UpstreamRequest

Scope = dict[str, Any]
KEY = "sk-fake-0001-abcdefghijkl"


def post(url: str, body: bytes = b"{}", read: float = 5.0) -> tuple[UpstreamRequest, RequestTimeouts]:
    """A request and the timeouts it is sent with."""
    request = UpstreamRequest("POST", url, {"Authorization": f"Bearer {KEY}"}, body)
    return request, RequestTimeouts(connect=1.0, pool=1.0, read=read)


def test_the_app_gets_the_method_path_query_headers_and_body() -> None:
    upstream = FakeUpstream()

    async def scenario() -> bytes:
        transport = ASGITransport(upstream)
        body = b'{"model": "fake-chat", "messages": [{"role": "user", "content": "hi"}]}'
        response = await transport.send(*post("https://api.test/v1/chat/completions?trace=1", body))
        return await response.read()

    assert b"Echo: hi" in asyncio.run(scenario())
    [received] = upstream.requests
    assert (received.method, received.path, received.key) == ("POST", "/v1/chat/completions", KEY)
    assert received.headers["host"] == "api.test"


def test_status_and_headers_arrive_before_the_body_and_read_case_insensitive() -> None:
    async def scenario() -> tuple[int, str]:
        response = await ASGITransport(FakeUpstream()).send(*post("http://api.test/v1/nothing"))
        response.close()
        return response.status, response.headers["Content-Type"]

    assert asyncio.run(scenario()) == (404, "application/json")


def test_chunks_arrive_as_the_app_sends_them() -> None:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for piece in (b"one", b"two"):
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def scenario() -> list[bytes]:
        response = await ASGITransport(app).send(*post("http://api.test/"))
        return [chunk async for chunk in response.iter_chunks()]

    assert asyncio.run(scenario()) == [b"one", b"two"]


def test_silence_longer_than_idle_yields_an_empty_chunk() -> None:
    go_on = asyncio.Event()

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        await go_on.wait()
        await send({"type": "http.response.body", "body": b"last"})

    async def scenario() -> list[bytes]:
        response = await ASGITransport(app).send(*post("http://api.test/"))
        chunks = []
        async for chunk in response.iter_chunks(idle=0.001):
            chunks.append(chunk)
            if not chunk:
                go_on.set()
        return chunks

    assert asyncio.run(scenario()) == [b"first", b"", b"last"]


def test_silence_longer_than_the_read_timeout_is_an_upstream_timeout() -> None:
    async def scenario() -> None:
        upstream = FakeUpstream()
        upstream.set_fault(KEY, Fault(FaultKind.HANG))
        await ASGITransport(upstream).send(*post("http://api.test/v1/chat/completions", read=0.001))

    with pytest.raises(UpstreamTimeout):
        asyncio.run(scenario())


def test_a_body_the_app_leaves_unfinished_is_an_invalid_response() -> None:
    async def scenario() -> None:
        upstream = FakeUpstream()
        upstream.set_fault(KEY, Fault(FaultKind.CUT_AFTER_FIRST_CHUNK))
        body = b'{"model": "fake-chat", "messages": [{"role": "user", "content": "a b"}]}'
        response = await ASGITransport(upstream).send(*post("http://api.test/v1/chat/completions", body))
        await response.read()

    with pytest.raises(InvalidUpstreamResponse):
        asyncio.run(scenario())


def test_an_app_failing_before_its_response_is_a_500(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(scope: Scope, receive: Any, send: Any) -> None:
        raise ValueError("bug in the app")

    async def scenario() -> tuple[int, bytes]:
        response = await ASGITransport(broken).send(*post("http://api.test/"))
        return response.status, await response.read()

    assert asyncio.run(scenario()) == (500, b"Internal Server Error")
    assert "bug in the app" in caplog.text


def test_closing_a_response_stops_the_app() -> None:
    stopped = asyncio.Event()

    async def endless(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    async def scenario() -> None:
        transport = ASGITransport(endless)
        response = await transport.send(*post("http://api.test/"))
        response.close()
        await transport.aclose()

    asyncio.run(scenario())
    assert stopped.is_set()
