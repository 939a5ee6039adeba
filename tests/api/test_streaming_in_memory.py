"""Stream relay driven in memory through the ASGI interface: keep-alives, disconnects, end markers."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from keyproxy.config import Credential, ProviderSettings, Settings
from keyproxy.errors import UpstreamError
from keyproxy.testing import FakeClock
from keyproxy.transport import MockResponse, MockTransport, UpstreamRequest
from keyproxy.wiring import build_app

BODY = msgspec.json.encode({"model": "p/m", "stream": True, "messages": []})
SSE = {"content-type": "text/event-stream"}


def settings() -> Settings:
    provider = ProviderSettings(
        name="p", protocol="openai", base_url="http://upstream.test/v1",
        credentials=(Credential(secret="sk-only-000000000001", source="TEST"),),
    )  # fmt: skip
    return Settings(providers={"p": provider})


class Exchange:
    """One HTTP exchange against the app: the request body, then optionally a disconnect."""

    def __init__(self, body: bytes = BODY) -> None:
        self.sent: list[dict[str, Any]] = []
        self.disconnect = asyncio.Event()
        self.request_body = body
        self._body_sent = False

    async def receive(self) -> dict[str, Any]:
        if not self._body_sent:
            self._body_sent = True
            return {"type": "http.request", "body": self.request_body, "more_body": False}
        await self.disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")


def scope(path: str = "/v1/chat/completions") -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": path, "headers": []}


def serve(
    response: MockResponse, exchange: Exchange, *, during: Any = None, path: str = "/v1/chat/completions"
) -> MockTransport:
    async def handler(request: UpstreamRequest) -> MockResponse:
        return response

    transport = MockTransport(handler)
    app = build_app(settings(), transport=transport, clock=FakeClock())

    async def go() -> None:
        task = asyncio.create_task(app(scope(path), exchange.receive, exchange.send))
        if during is not None:
            await during()
        await task

    asyncio.run(go())
    return transport


def test_silence_between_events_becomes_a_keep_alive_comment() -> None:
    exchange = Exchange()
    chunks = [b"data: {\"a\":1}\n\n", b"", b"data: [DONE]\n\n"]
    serve(MockResponse(200, SSE, chunks), exchange)
    assert exchange.body() == b"data: {\"a\":1}\n\n: keep-alive\n\ndata: [DONE]\n\n"


def test_silence_in_the_middle_of_an_event_sends_nothing() -> None:
    exchange = Exchange()
    chunks = [b"data: {\"a\"", b"", b":1}\n\ndata: [DONE]\n\n"]
    serve(MockResponse(200, SSE, chunks), exchange)
    assert b"keep-alive" not in exchange.body()


def test_a_stream_ending_without_done_gets_an_error_event_instead_of_a_clean_end() -> None:
    exchange = Exchange()
    serve(MockResponse(200, SSE, [b"data: {\"a\":1}\n\n"]), exchange)
    body = exchange.body()
    assert body.startswith(b"data: {\"a\":1}\n\ndata: {\"error\"")
    assert b"[DONE]" not in body


def test_a_stream_broken_mid_event_still_delivers_a_parseable_error_event() -> None:
    exchange = Exchange()
    serve(MockResponse(200, SSE, [b"data: {\"a\"", UpstreamError("reset")]), exchange)
    last_event = exchange.body().split(b"\n\n")[-2]
    assert msgspec.json.decode(last_event.removeprefix(b"data: "))["error"]["code"] == "stream_interrupted"


def test_a_client_disconnect_cancels_the_upstream_stream_and_frees_the_key() -> None:
    exchange = Exchange()
    upstream_waiting = asyncio.Event()

    class Endless(MockResponse):
        async def iter_chunks(self, idle: float | None = None):  # type: ignore[no-untyped-def, override]
            yield b"data: {}\n\n"
            upstream_waiting.set()
            await asyncio.Event().wait()

    response = Endless(200, SSE)

    async def leave() -> None:
        await upstream_waiting.wait()
        exchange.disconnect.set()

    serve(response, exchange, during=leave)
    assert response.closed
    assert exchange.sent[-1].get("more_body") is True  # no clean end was faked


def test_an_anthropic_client_gets_ping_events_in_long_silences() -> None:
    exchange = Exchange(
        msgspec.json.encode({"model": "p/m", "stream": True, "max_tokens": 8,
                             "messages": [{"role": "user", "content": "x"}]})
    )  # fmt: skip
    delta = {"index": 0, "delta": {"role": "assistant", "content": "hi"}}
    chunk = b"data: " + msgspec.json.encode({"id": "c", "object": "chat.completion.chunk", "choices": [delta]})
    end = {"index": 0, "delta": {}, "finish_reason": "stop"}
    done = b"data: " + msgspec.json.encode({"id": "c", "object": "chat.completion.chunk", "choices": [end]})
    chunks = [chunk + b"\n\n", b"", done + b"\n\ndata: [DONE]\n\n"]
    serve(MockResponse(200, SSE, chunks), exchange, path="/v1/messages")
    body = exchange.body()
    assert b'event: ping\ndata: {"type": "ping"}' in body
    assert body.rstrip().endswith(b'data: {"type":"message_stop"}')
