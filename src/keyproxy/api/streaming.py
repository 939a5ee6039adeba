"""Relaying an upstream event stream to the client: chunk by chunk, with keep-alives, never faking an end."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from keyproxy.api.asgi import Receive, Send, error_body
from keyproxy.engine.router import Opened
from keyproxy.errors import InvalidUpstreamResponse, UpstreamError

KEEPALIVE = b": keep-alive\n\n"
_TAIL = 32
SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


async def relay_stream(
    send: Send, opened: Opened, guard: DisconnectGuard, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """Send the stream; if it breaks or ends without its closing marker, end with an error event instead."""
    assert opened.chunks is not None
    error: UpstreamError | None = None
    await send({"type": "http.response.start", "status": opened.status, "headers": [*SSE_HEADERS, *headers]})
    last = opened.first_chunk
    tail = last[-_TAIL:]
    try:
        await send({"type": "http.response.body", "body": last, "more_body": True})
        try:
            async for chunk in opened.chunks:
                if not chunk:
                    # Comments are only legal between events, so a silence mid-event stays silent.
                    if last.endswith(b"\n\n") or last.endswith(b"\r\n\r\n"):
                        await send({"type": "http.response.body", "body": KEEPALIVE, "more_body": True})
                    continue
                last = chunk
                tail = (tail + chunk[-_TAIL:])[-_TAIL:]
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except UpstreamError as exc:
            error = exc
        if error is None and not opened.stream_complete(tail):
            error = InvalidUpstreamResponse("upstream ended the stream without its end marker")
        if error is not None:
            separator = b"" if last.endswith(b"\n\n") else b"\n\n"
            event = separator + b"data: " + error_body(_cut(error)) + b"\n\n"
            await send({"type": "http.response.body", "body": event, "more_body": True})
        guard.responded = True
        await send({"type": "http.response.body", "body": b""})
    finally:
        # A client that left says nothing about the key: release it without a verdict.
        await opened.finish(error, record=guard.responded)


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
