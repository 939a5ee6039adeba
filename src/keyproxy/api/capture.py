"""The app's side of request capture: each exchange gets an id (sent back as `x-keyproxy-capture-id`), its
request and answer are recorded as they pass, and at its end it goes to the writer, or, in "errors"
mode, only if it failed somewhere."""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable
from secrets import token_hex

from keyproxy.api.asgi import Message, Receive, Scope, Send
from keyproxy.capture import CaptureSink, CaptureWriter, Exchange, current
from keyproxy.clock import Clock
from keyproxy.config.settings import CaptureMode

HEADER = b"x-keyproxy-capture-id"

Handler = Callable[[Scope, Receive, Send], Awaitable[None]]


class CaptureHook:
    def __init__(self, mode: CaptureMode, writer: CaptureWriter, max_bytes: int, clock: Clock) -> None:
        self.keep_all = mode == "all"
        self.writer = writer
        self.max_bytes = max_bytes
        self.clock = clock
        self._ids = _Ids()
        self.sink = CaptureSink()
        """Adds the attempts to the exchange; the router's events go to it too."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: Handler) -> None:
        now = self.clock.now()
        client = scope.get("client")
        exchange = Exchange(
            self._ids.next(now), now, scope["method"], scope["path"], scope.get("query_string", b""), scope["headers"],
            f"{client[0]}:{client[1]}" if client else "", self.max_bytes,
        )  # fmt: skip
        id_header = (HEADER, exchange.id.encode())

        async def received() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                exchange.request.add(message.get("body", b""))
            return message

        async def sent(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                exchange.status = message["status"]
                exchange.answer_headers = headers
                message["headers"] = [*headers, id_header]
            elif message["type"] == "http.response.body":
                exchange.answer.add(message.get("body", b""))
                if not message.get("more_body", False):
                    exchange.complete = True
            await send(message)

        token = current.set(exchange)
        started = time.perf_counter()
        try:
            await app(scope, received, sent)
        finally:
            current.reset(token)
            exchange.close(time.perf_counter() - started)
            if self.keep_all or exchange.failed:
                self.writer.put(exchange)


class _Ids:
    """`YYYYMMDD-` (the UTC day, which `show` uses to find the file) and 12 hex digits: a random prefix per
    process and a counter, cheaper than a random number per request."""

    __slots__ = ("_count", "_day", "_next_day", "_prefix")

    def __init__(self) -> None:
        self._prefix = token_hex(3)
        self._count = itertools.count(1)
        self._day = ""
        self._next_day = 0.0

    def next(self, now: float) -> str:
        if now >= self._next_day or now < self._next_day - 86400:
            self._day = time.strftime("%Y%m%d", time.gmtime(now))
            self._next_day = (now // 86400 + 1) * 86400
        return f"{self._day}-{self._prefix}{next(self._count) % 0x1000000:06x}"
