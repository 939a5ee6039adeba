"""ASGITransport: keyproxy's upstream requests handed to an ASGI app in the same event loop, without sockets.

`build_app(settings, transport=ASGITransport(FakeUpstream()))` runs a proxy and its fake upstream together in
memory. The transport plays the upstream's server and keyproxy's HTTP/1.1 transport at once, so the router
sees what it would see over a socket: an app that fails before answering is a 500; a body the app leaves
unfinished (a cut stream) raises InvalidUpstreamResponse; a silence longer than the request's read timeout
raises UpstreamTimeout, and `iter_chunks(idle)` yields b"" after `idle` seconds without data.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

from keyproxy.errors import InvalidUpstreamResponse, UpstreamTimeout
from keyproxy.testing._asgi import ASGIApp, Message, ResponseHeaders, Scope, http_scope
from keyproxy.transport.base import RequestTimeouts, UpstreamRequest, declared_too_large, too_large

logger = logging.getLogger("keyproxy.testing")

_ENDED = None  # what the queue of sent messages holds once the app has returned


class ASGITransport:
    """A keyproxy.transport.base.Transport that sends every request to `app`, whatever the URL's host."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._calls: set[_AppCall] = set()

    async def send(self, request: UpstreamRequest, timeouts: RequestTimeouts) -> ASGIResponse:
        call = _AppCall(self.app, request, timeouts.read, self._calls.discard)
        self._calls.add(call)
        try:
            start = await call.next_message(timeouts.read)
        except BaseException:
            call.close()
            raise
        if start is _ENDED or start["type"] != "http.response.start":
            # A server answers this way for an app that failed before starting its response.
            call.close()
            headers = ResponseHeaders([(b"content-type", b"text/plain; charset=utf-8")])
            return ASGIResponse(500, headers, call, whole=b"Internal Server Error")
        return ASGIResponse(start["status"], ResponseHeaders(start.get("headers", ())), call)

    async def aclose(self) -> None:
        calls = list(self._calls)
        for call in calls:
            call.close()
        await asyncio.gather(*(call.task for call in calls), return_exceptions=True)


class ASGIResponse:
    """Satisfies keyproxy.transport.base.UpstreamResponse."""

    __slots__ = ("_call", "_ended", "_whole", "headers", "status")

    def __init__(self, status: int, headers: ResponseHeaders, call: _AppCall, *, whole: bytes | None = None) -> None:
        self.status = status
        self.headers = headers
        self._call = call
        self._whole = whole
        self._ended = False

    async def read(self, limit: int | None = None) -> bytes:
        try:
            if declared_too_large(self.headers, limit):
                raise too_large(limit or 0)
            parts: list[bytes] = []
            size = 0
            async for chunk in self.iter_chunks():
                size += len(chunk)
                if limit is not None and size > limit:
                    raise too_large(limit)
                parts.append(chunk)
            return b"".join(parts)
        finally:
            self.close()

    async def iter_chunks(self, idle: float | None = None) -> AsyncIterator[bytes]:
        if self._whole is not None:
            if not self._ended:
                self._ended = True
                yield self._whole
            return
        read_timeout = self._call.read_timeout
        loop = asyncio.get_running_loop()
        heard = loop.time()
        while not self._ended:
            left = max(read_timeout - (loop.time() - heard), 0.0)
            quiet = idle is not None and idle < left
            try:
                message = await self._call.next_message(min(idle, left) if idle is not None else left)
            except UpstreamTimeout:
                if quiet:
                    yield b""
                    continue
                raise
            heard = loop.time()
            if message is _ENDED:
                raise InvalidUpstreamResponse("upstream closed the connection before the body was complete")
            if message["type"] != "http.response.body":
                continue
            self._ended = not message.get("more_body", False)
            if message.get("body"):
                yield bytes(message["body"])

    def close(self) -> None:
        self._call.close()


class _AppCall:
    """The app handling one request as a task: it receives the body, then a disconnect once closed."""

    def __init__(
        self, app: ASGIApp, request: UpstreamRequest, read_timeout: float, on_close: Callable[[_AppCall], None]
    ) -> None:
        url = urlsplit(request.url)
        port = url.port or (443 if url.scheme == "https" else 80)
        headers = dict(request.headers)
        named = {name.lower() for name in headers}
        if "host" not in named:
            headers["host"] = url.netloc
        if request.body is not None and "content-length" not in named:
            headers["content-length"] = str(len(request.body))
        target = (url.path or "/") + (f"?{url.query}" if url.query else "")
        server = (url.hostname or "", port)
        scope = http_scope(request.method, target, headers.items(), scheme=url.scheme, server=server)
        self.read_timeout = read_timeout
        self._body = request.body or b""
        self._body_sent = False
        self._sent: asyncio.Queue[Message | None] = asyncio.Queue()
        self._gone = asyncio.Event()
        self._on_close = on_close
        self.task = asyncio.ensure_future(self._serve(app, scope))

    async def next_message(self, within: float) -> Message | None:
        """The app's next message, or _ENDED once it has returned; UpstreamTimeout after `within` seconds."""
        timer = asyncio.timeout(within)
        try:
            async with timer:
                return await self._sent.get()
        except TimeoutError:
            if not timer.expired():
                raise
            raise UpstreamTimeout("upstream timed out") from None

    def close(self) -> None:
        self._gone.set()
        if not self.task.done():
            self.task.cancel()
        self._on_close(self)

    async def _serve(self, app: ASGIApp, scope: Scope) -> None:
        try:
            await app(scope, self._receive, self._send)
        except Exception:
            # A server logs an app's error and drops the connection; the router sees the drop.
            logger.exception("the upstream app failed on %s %s", scope["method"], scope["path"])
        finally:
            self._sent.put_nowait(_ENDED)

    async def _receive(self) -> Message:
        if not self._body_sent:
            self._body_sent = True
            return {"type": "http.request", "body": self._body, "more_body": False}
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        if not self._gone.is_set():
            self._sent.put_nowait(message)
