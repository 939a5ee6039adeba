"""The capturing transport records each upstream request and answer in the exchange being captured."""

from __future__ import annotations

import asyncio

import pytest

from keyproxy.capture import Exchange, current
from keyproxy.errors import UpstreamTimeout
from keyproxy.transport import MockResponse, MockTransport, RequestTimeouts, UpstreamRequest
from keyproxy.transport.capturing import CapturingTransport

TIMEOUTS = RequestTimeouts(1, 1, 1)
REQUEST = UpstreamRequest("POST", "http://up.test/v1/chat", {"authorization": "Bearer k"}, b'{"q": 1}')


def captured(response: MockResponse, limit: int = 1000) -> tuple[CapturingTransport, Exchange]:
    async def answer(request: UpstreamRequest) -> MockResponse:
        return response

    exchange = Exchange("id", 0.0, "POST", "/v1/chat/completions", b"", [], "", limit)
    current.set(exchange)
    return CapturingTransport(MockTransport(answer)), exchange


def test_a_whole_answer_is_recorded_with_the_request_that_asked_for_it() -> None:
    async def run() -> Exchange:
        transport, exchange = captured(MockResponse.json(200, b'{"a": 1}'))
        response = await transport.send(REQUEST, TIMEOUTS)
        assert await response.read() == b'{"a": 1}'
        return exchange

    call = asyncio.run(run()).calls[0]
    assert (call.method, call.url, call.body.parts, call.status) == ("POST", REQUEST.url, [b'{"q": 1}'], 200)
    assert call.answer.parts == [b'{"a": 1}'] and not call.streamed


def test_stream_chunks_are_recorded_as_they_pass_up_to_the_limit() -> None:
    async def run() -> tuple[list[bytes], Exchange]:
        transport, exchange = captured(MockResponse(200, {}, [b"one", b"", b"two", b"three"]), limit=5)
        response = await transport.send(REQUEST, TIMEOUTS)
        return [chunk async for chunk in response.iter_chunks()], exchange

    relayed, exchange = asyncio.run(run())
    assert relayed == [b"one", b"", b"two", b"three"]
    answer = exchange.calls[0].answer
    assert (answer.parts, answer.seen, exchange.calls[0].streamed) == ([b"one", b"tw"], 11, True)


def test_an_upstream_error_is_recorded_and_marks_the_exchange_failed() -> None:
    async def run() -> Exchange:
        transport, exchange = captured(MockResponse(200, {}, [b"one", UpstreamTimeout("upstream timed out")]))
        response = await transport.send(REQUEST, TIMEOUTS)
        with pytest.raises(UpstreamTimeout):
            [chunk async for chunk in response.iter_chunks()]
        return exchange

    exchange = asyncio.run(run())
    assert exchange.calls[0].error == "UpstreamTimeout: upstream timed out" and exchange.failed


def test_a_request_outside_any_captured_exchange_passes_straight_through() -> None:
    async def answer(request: UpstreamRequest) -> MockResponse:
        return MockResponse.json(200, b"{}")

    async def run() -> object:
        return await CapturingTransport(MockTransport(answer)).send(REQUEST, TIMEOUTS)

    assert isinstance(asyncio.run(run()), MockResponse)
