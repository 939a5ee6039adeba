"""One HTTP/1.1 connection to an upstream: an asyncio Protocol whose bytes httptools parses, read by one
response at a time. Until `http()` is called (during a proxy handshake) it hands over raw bytes instead."""

from __future__ import annotations

import asyncio
from collections import deque

import httptools

from keyproxy.errors import InvalidUpstreamResponse, UpstreamError, UpstreamTimeout, UpstreamUnreachable
from keyproxy.transport.headers import Headers

# Past this many unread body bytes the socket stops being read: a slow reader holds the upstream back
# instead of memory growing.
_HIGH_WATER = 1 << 18


class Connection(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop, *, raw: bool = False) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._raw: bytearray | None = bytearray() if raw else None
        self._parser = None if raw else httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[bool] | None = None
        self._error: UpstreamError | None = None
        self._active = False
        self._paused = False
        self._start(False, 0.0)

    def _start(self, head_only: bool, read: float) -> None:
        self.status = 0
        self.headers: Headers | None = None
        self.complete = False
        self.keep_alive = False
        self.received = False
        """Whether any byte of the answer came: if none did, the upstream never processed the request."""
        self._head_only = head_only
        self._read = read
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self._interim = False
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._quiet_since: float | None = None

    def begin(self, head_only: bool, read: float, data: bytes, body: bytes | None) -> None:
        """Send a request; what arrives from now on is its answer. `read`: the longest silence allowed."""
        self._start(head_only, read)
        self._active = True
        assert self.transport is not None
        if body is not None and len(body) > 65536:
            self.transport.write(data)
            self.transport.write(body)
        else:
            self.transport.write(data + body if body else data)

    def open(self) -> bool:
        """Not closed, as far as this side knows: the peer's close may already be read (the transport closing
        itself) before `connection_lost` says so."""
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    def finish(self) -> bool:
        """Done with the answer; whether the connection can carry another: only once the answer has arrived
        whole (what of it was not taken is dropped), and the upstream did not say it closes."""
        self._active = False
        if self._chunks:
            self._chunks.clear()
            self._buffered = 0
            if self._paused and self.transport is not None:
                self._paused = False
                self.transport.resume_reading()
        return self.complete and self.keep_alive and self.open()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._quiet_since = None
        if self._raw is not None:
            self._raw += data
        elif not self._active:
            # Nobody asked: an idle connection that speaks (a 408 before it closes) is not reused.
            self.close()
            return
        else:
            self.received = True
            try:
                self._parser.feed_data(data)  # type: ignore[union-attr]
            except (httptools.HttpParserError, httptools.HttpParserUpgrade):
                self._fail(InvalidUpstreamResponse("upstream sent an invalid HTTP response"))
                self.close()
                return
            if self._buffered > _HIGH_WATER and not self._paused and self.transport is not None:
                self._paused = True
                self.transport.pause_reading()
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._active and not self.complete:
            if self.headers is not None and self._ends_at_close(self.headers):
                self.complete = True
            elif self.headers is not None:
                self._fail(InvalidUpstreamResponse("upstream closed the connection before the body was complete"))
            elif self.received:
                self._fail(InvalidUpstreamResponse("upstream closed the connection in the middle of its headers"))
            else:
                self._fail(UpstreamUnreachable("upstream closed the connection before answering"))
        self._wake()

    @staticmethod
    def _ends_at_close(headers: Headers) -> bool:
        """A body with neither a length nor chunks runs until the connection closes (RFC 9112 6.3)."""
        return "content-length" not in headers and "chunked" not in (headers.get("transfer-encoding") or "").lower()

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()  # type: ignore[union-attr]
        if status < 200:
            # An interim answer (100 Continue, 103 Early Hints): the real one follows on the same connection.
            self._interim = True
            self._raw_headers = []
            return
        self.status = status
        self.headers = Headers(self._raw_headers)
        if self._head_only:
            # The parser would wait for the body a HEAD answer never has; this connection is not reused.
            self.complete = True

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        self.complete = True
        self.keep_alive = not self._head_only and self._parser.should_keep_alive()  # type: ignore[union-attr]

    # reading the answer

    def take(self) -> bytes:
        """Every body byte that has arrived and was not taken yet."""
        chunks = self._chunks
        if not chunks:
            return b""
        data = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._buffered = 0
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return data

    async def wait(self, idle: float | None = None) -> bool:
        """Until bytes arrive or the answer ends: True; False if `idle` seconds pass first. Raises the
        connection's failure, or UpstreamTimeout once it has been silent for the read timeout."""
        if self._error is not None:
            raise self._error
        loop = self.loop
        now = loop.time()
        if self._quiet_since is None:
            self._quiet_since = now
        when = self._quiet_since + self._read
        idle_first = idle is not None and now + idle < when
        if idle is not None and idle_first:
            when = now + idle
        waiter = self._waiter = loop.create_future()
        timer = loop.call_at(when, self._expire, waiter, idle_first)
        try:
            woken: bool = await waiter
        finally:
            timer.cancel()
            self._waiter = None
        return woken

    def _expire(self, waiter: asyncio.Future[bool], idle: bool) -> None:
        if waiter.done():
            return
        if idle:
            waiter.set_result(False)
        else:
            self._fail(UpstreamTimeout("upstream timed out"))
            self.close()

    def _fail(self, error: UpstreamError) -> None:
        if self._error is None:
            self._error = error
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    def close(self) -> None:
        self._active = False
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()

    # a proxy handshake, before HTTP

    async def read_raw(self, size: int) -> bytes:
        """Exactly `size` bytes; ConnectionError if the peer closes first."""
        raw = self._raw
        assert raw is not None
        while len(raw) < size:
            await self._more()
        data = bytes(raw[:size])
        del raw[:size]
        return data

    async def read_raw_head(self, limit: int = 65536) -> bytes:
        """Up to and including the blank line that ends an HTTP head (a proxy's answer to CONNECT)."""
        raw = self._raw
        assert raw is not None
        while (end := raw.find(b"\r\n\r\n")) < 0:
            if len(raw) > limit:
                raise ConnectionError("proxy answer head too long")
            await self._more()
        data = bytes(raw[: end + 4])
        del raw[: end + 4]
        return data

    async def _more(self) -> None:
        if self.closed:
            raise ConnectionError("the proxy closed the connection")
        waiter = self._waiter = self.loop.create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    def http(self) -> None:
        """The tunnel is up: from now on the bytes are HTTP."""
        if self._raw:
            raise ConnectionError("the proxy sent bytes past its handshake")
        self._raw = None
        self._parser = httptools.HttpResponseParser(self)
