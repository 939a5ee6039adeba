"""Stream relay driven in memory through the ASGI interface: keep-alives, disconnects, end markers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import msgspec

from keyproxy.config import Settings
from keyproxy.config.settings import StateSettings
from keyproxy.errors import UpstreamError
from keyproxy.testing import Exchange, FakeClock, Response
from keyproxy.transport import MockResponse, MockTransport, UpstreamRequest
from keyproxy.wiring import build_app
from support import openai_provider

MEMORY = StateSettings(backend="memory")
"""Nothing written to the working directory's data dir, which other tests and runs would inherit."""

BODY = msgspec.json.encode({"model": "p/m", "stream": True, "messages": [{"role": "user", "content": "x"}]})
SSE = {"content-type": "text/event-stream"}


def settings() -> Settings:
    return Settings(providers={"p": openai_provider(keys=("sk-only-000000000001",))}, state=MEMORY)


def serve(
    response: MockResponse,
    body: bytes = BODY,
    *,
    during: Callable[[Exchange], Awaitable[None]] | None = None,
    path: str = "/v1/chat/completions",
) -> Response:
    async def handler(request: UpstreamRequest) -> MockResponse:
        return response

    app = build_app(settings(), transport=MockTransport(handler), clock=FakeClock())
    exchange = Exchange(app, "POST", path, body=body)

    async def go() -> Response:
        task = asyncio.create_task(exchange.run())
        if during is not None:
            await during(exchange)
        return await task

    return asyncio.run(go())


def test_silence_between_events_becomes_a_keep_alive_comment() -> None:
    chunks = [b"data: {\"a\":1}\n\n", b"", b"data: [DONE]\n\n"]
    response = serve(MockResponse(200, SSE, chunks))
    assert response.body == b"data: {\"a\":1}\n\n: keep-alive\n\ndata: [DONE]\n\n"


def test_silence_in_the_middle_of_an_event_sends_nothing() -> None:
    chunks = [b"data: {\"a\"", b"", b":1}\n\ndata: [DONE]\n\n"]
    response = serve(MockResponse(200, SSE, chunks))
    assert b"keep-alive" not in response.body


def test_a_stream_ending_without_done_gets_an_error_event_instead_of_a_clean_end() -> None:
    response = serve(MockResponse(200, SSE, [b"data: {\"a\":1}\n\n"]))
    body = response.body
    assert body.startswith(b"data: {\"a\":1}\n\ndata: {\"error\"")
    assert b"[DONE]" not in body


def test_a_stream_broken_mid_event_still_delivers_a_parseable_error_event() -> None:
    response = serve(MockResponse(200, SSE, [b"data: {\"a\"", UpstreamError("reset")]))
    last_event = response.body.split(b"\n\n")[-2]
    assert msgspec.json.decode(last_event.removeprefix(b"data: "))["error"]["code"] == "stream_interrupted"


def test_a_client_disconnect_cancels_the_upstream_stream_and_frees_the_key() -> None:
    upstream_waiting = asyncio.Event()

    class Endless(MockResponse):
        async def iter_chunks(self, idle: float | None = None) -> AsyncIterator[bytes]:
            yield b"data: {}\n\n"
            upstream_waiting.set()
            await asyncio.Event().wait()

    upstream = Endless(200, SSE)

    async def leave(exchange: Exchange) -> None:
        await upstream_waiting.wait()
        exchange.disconnect()

    response = serve(upstream, during=leave)
    assert upstream.closed
    assert response.messages[-1].get("more_body") is True  # no clean end was faked


def test_an_anthropic_client_gets_ping_events_in_long_silences() -> None:
    body = msgspec.json.encode({"model": "p/m", "stream": True, "max_tokens": 8,
                                "messages": [{"role": "user", "content": "x"}]})  # fmt: skip
    delta = {"index": 0, "delta": {"role": "assistant", "content": "hi"}}
    chunk = b"data: " + msgspec.json.encode({"id": "c", "object": "chat.completion.chunk", "choices": [delta]})
    end = {"index": 0, "delta": {}, "finish_reason": "stop"}
    done = b"data: " + msgspec.json.encode({"id": "c", "object": "chat.completion.chunk", "choices": [end]})
    chunks = [chunk + b"\n\n", b"", done + b"\n\ndata: [DONE]\n\n"]
    response = serve(MockResponse(200, SSE, chunks), body, path="/v1/messages")
    body = response.body
    assert b'event: ping\ndata: {"type": "ping"}' in body
    assert body.rstrip().endswith(b'data: {"type":"message_stop"}')
