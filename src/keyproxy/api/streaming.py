"""Relaying an upstream event stream to the client: chunk by chunk, with keep-alives, never faking an end."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from keyproxy.api.asgi import Receive, Scope, Send, disconnect_hook
from keyproxy.api.dialect import Dialect
from keyproxy.engine.router import Opened
from keyproxy.errors import InvalidUpstreamResponse, KeyproxyError, ShuttingDown, UpstreamError
from keyproxy.translate.stream import StreamTranslator

logger = logging.getLogger("keyproxy.api")

_TAIL = 32
SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class StreamEnd(Protocol):
    """How a stream ends when its end and its error event depend on what went before: the Responses API
    numbers every event and ends with the whole response, which no fixed marker at the tail can show."""

    @property
    def complete(self) -> bool:
        """Whether the stream's own last event has been relayed."""
        ...

    def error_event(self, error: KeyproxyError) -> bytes:
        """The event that ends the stream when it broke off."""
        ...


async def relay_stream(
    send: Send,
    opened: Opened,
    guard: DisconnectGuard,
    dialect: Dialect,
    headers: Sequence[tuple[bytes, bytes]] = (),
    translator: StreamTranslator | None = None,
    *,
    end: StreamEnd | None = None,
) -> None:
    """Send the stream; if it breaks or ends without the dialect's end marker (or `end` says it did not
    end), end with its error event instead."""
    error: UpstreamError | None = None
    error_event = end.error_event if end is not None else dialect.error_event
    await send({"type": "http.response.start", "status": opened.status, "headers": [*SSE_HEADERS, *headers]})
    out = _Outbound(send)
    try:
        try:
            while True:
                with _upstream_fault:
                    chunk = await opened.next_chunk()
                    if chunk is None:
                        break
                    data = translator.feed(chunk) if translator is not None and chunk else chunk
                if data:
                    await out.write(data)
                elif out.last.endswith(b"\n\n"):
                    # Comments are only legal between events, so a silence mid-event stays silent.
                    await send({"type": "http.response.body", "body": dialect.keepalive, "more_body": True})
            if translator is not None:
                with _upstream_fault:
                    tail = translator.close()
                await out.write(tail)
        except UpstreamError as exc:
            error = exc
        except asyncio.CancelledError:
            if not guard.gone:
                # The server is stopping and the drain time ran out: say so, rather than just cut off.
                stopping = ShuttingDown("keyproxy is shutting down; retry the request")
                separator = b"" if out.last.endswith(b"\n\n") else b"\n\n"
                await send({"type": "http.response.body", "body": separator + error_event(stopping), "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            raise
        ended = end.complete if end is not None else dialect.end_marker in out.tail
        if error is None and not ended:
            error = InvalidUpstreamResponse("upstream ended the stream without its end marker")
        if error is not None:
            separator = b"" if out.last.endswith(b"\n\n") else b"\n\n"
            await send({"type": "http.response.body", "body": separator + error_event(_cut(error)), "more_body": True})
        guard.responded = True
        await send({"type": "http.response.body", "body": b""})
    finally:
        # A client that left says nothing about the key: release it without a verdict.
        await opened.finish(error, record=guard.responded)


class _UpstreamFault:
    """Around reading or translating the upstream's stream: a failure there that is not typed yet is still the
    answer's fault (an invalid answer: a verdict on the key, an error event for the client), not the proxy's.
    A class, not a `contextmanager`: entered once a chunk, its generator and frames cost more than the rest."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _tb: object) -> None:
        if exc is None or isinstance(exc, KeyproxyError) or not isinstance(exc, Exception):
            return
        logger.error("a stream could not be read or translated", exc_info=exc)
        raise InvalidUpstreamResponse(f"the upstream stream could not be translated ({type(exc).__name__})") from exc


_upstream_fault = _UpstreamFault()


class _Outbound:
    """What has gone to the client: the last piece and the stream's tail, where its end marker must be."""

    __slots__ = ("last", "send", "tail")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.last = b"\n\n"
        self.tail = b""

    async def write(self, data: bytes) -> None:
        if not data:
            return
        self.last = data
        self.tail = (self.tail + data[-_TAIL:])[-_TAIL:]
        await self.send({"type": "http.response.body", "body": data, "more_body": True})


def _cut(error: UpstreamError) -> UpstreamError:
    cut = InvalidUpstreamResponse(f"the upstream stream broke off: {error.message}")
    cut.code = "stream_interrupted"
    return cut


class DisconnectGuard:
    """Cancels the request's work when the client goes away, so the upstream call is dropped at once.

    Under `keyproxy serve` the server calls it when the connection is lost (asgi.DisconnectHook); under
    another server a task waits on `receive` for the disconnect, which costs a task per request.
    The handler sets `responded` just before its last send: from then on a disconnect is the normal
    end of the exchange, not a reason to cancel.
    """

    __slots__ = ("_gone", "_hook", "_receive", "_task", "responded")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self._receive = receive
        self._hook = disconnect_hook(scope)
        self._task: asyncio.Task[object] | None = None
        self._gone = False
        self.responded = False

    @property
    def gone(self) -> bool:
        """Whether the client went away (rather than the server cancelling the request)."""
        return self._gone

    async def run(self, work: Callable[[], Awaitable[None]]) -> None:
        task = self._task = asyncio.current_task()
        assert task is not None
        hook = self._hook
        watcher = None
        if hook is None:
            watcher = asyncio.create_task(self._watch())
        else:
            hook.callback = self._left
        try:
            await work()
        except asyncio.CancelledError:
            if not self._gone:
                raise
            task.uncancel()
        finally:
            if watcher is not None:
                watcher.cancel()
            elif hook is not None:
                hook.callback = None

    async def _watch(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        self._left()

    def _left(self) -> None:
        if not self.responded and self._task is not None:
            self._gone = True
            self._task.cancel()
