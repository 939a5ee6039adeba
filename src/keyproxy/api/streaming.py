"""Relaying an upstream event stream to the client: chunk by chunk, with keep-alives, never faking an end."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from keyproxy.api.asgi import Receive, Send, error_body
from keyproxy.engine.router import Opened
from keyproxy.errors import InvalidUpstreamResponse, KeyproxyError, UpstreamError
from keyproxy.translate.stream import StreamTranslator
from keyproxy.usage.tokens import UsageMeter

_TAIL = 32
SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


@dataclass(frozen=True, slots=True)
class ClientStream:
    """How the client's protocol ends a complete stream, and how it says a stream broke."""

    end_marker: bytes
    error_event: Callable[[KeyproxyError], bytes]
    keepalive: bytes = b": keep-alive\n\n"


OPENAI_STREAM = ClientStream(b"[DONE]", lambda error: b"data: " + error_body(error) + b"\n\n")


async def relay_stream(
    send: Send,
    opened: Opened,
    guard: DisconnectGuard,
    headers: Sequence[tuple[bytes, bytes]] = (),
    client: ClientStream = OPENAI_STREAM,
    translator: StreamTranslator | None = None,
) -> None:
    """Send the stream; if it breaks or ends without its closing marker, end with an error event instead."""
    assert opened.chunks is not None
    error: UpstreamError | None = None
    await send({"type": "http.response.start", "status": opened.status, "headers": [*SSE_HEADERS, *headers]})
    out = _Outbound(send)
    try:
        try:
            pending = opened.first_chunk
            chunks = opened.chunks
            while True:
                if pending:
                    await out.write(translator.feed(pending) if translator is not None else pending)
                elif out.last.endswith(b"\n\n"):
                    # Comments are only legal between events, so a silence mid-event stays silent.
                    await send({"type": "http.response.body", "body": client.keepalive, "more_body": True})
                try:
                    pending = await anext(chunks)
                except StopAsyncIteration:
                    break
            if translator is not None:
                await out.write(translator.close())
        except UpstreamError as exc:
            error = exc
        if error is None and client.end_marker not in out.tail:
            error = InvalidUpstreamResponse("upstream ended the stream without its end marker")
        if error is not None:
            separator = b"" if out.last.endswith(b"\n\n") else b"\n\n"
            await send({"type": "http.response.body", "body": separator + client.error_event(_cut(error)),
                        "more_body": True})  # fmt: skip
        guard.responded = True
        await send({"type": "http.response.body", "body": b""})
    finally:
        # A client that left says nothing about the key: release it without a verdict.
        await opened.finish(error, record=guard.responded, tokens=out.meter.tokens(), answer_bytes=out.sent)


class _Outbound:
    """What has gone to the client: the last piece, the stream's tail, its size, the usage it reported."""

    __slots__ = ("last", "meter", "send", "sent", "tail")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.last = b"\n\n"
        self.tail = b""
        self.meter = UsageMeter()
        self.sent = 0

    async def write(self, data: bytes) -> None:
        if not data:
            return
        self.last = data
        self.tail = (self.tail + data[-_TAIL:])[-_TAIL:]
        self.meter.observe(data)
        self.sent += len(data)
        await self.send({"type": "http.response.body", "body": data, "more_body": True})


def _cut(error: UpstreamError) -> UpstreamError:
    cut = InvalidUpstreamResponse(f"the upstream stream broke off: {error.message}")
    cut.code = "stream_interrupted"
    return cut


class DisconnectGuard:
    """Cancels the request's work when the client goes away, so the upstream call is dropped at once.

    The handler sets `responded` just before its last send: from then on a disconnect is the normal
    end of the exchange, not a reason to cancel.
    """

    __slots__ = ("_gone", "_receive", "responded")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._gone = False
        self.responded = False

    async def run(self, work: Callable[[], Awaitable[None]]) -> None:
        task = asyncio.current_task()
        assert task is not None
        watcher = asyncio.create_task(self._watch(task))
        try:
            await work()
        except asyncio.CancelledError:
            if not self._gone:
                raise
            task.uncancel()
        finally:
            watcher.cancel()

    async def _watch(self, task: asyncio.Task[object]) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        if not self.responded:
            self._gone = True
            task.cancel()
