"""The process-wide budget of request-body bytes: what the requests being served hold of their bodies, together.

Each body is counted from the moment its route asks for it (after authentication, so an unauthenticated
client reserves nothing) until its request ends, since the body is kept for fail-over to the last attempt.
A body with a Content-Length is reserved whole before any of it is read; a chunked one as its pieces
arrive. A body that does not fit is refused at once with 503 and Retry-After, in the route's own dialect:
waiting would hold the client's connection and its bytes in the kernel all the same.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from keyproxy.api.asgi import Message, Receive, Scope, Send, header
from keyproxy.errors import LocalExhaustion

App = Callable[[Scope, Receive, Send], Awaitable[None]]

SMALL = 64 * 1024
"""A body declared this small passes without being counted: the connection limit bounds what such bodies
hold together (1,000 connections of 64 KiB), and the most common requests pay nothing for the budget."""


class BodyBudget:
    """ASGI middleware in front of the app; `limit` bytes in flight, `max_body` the per-request limit
    (a body declared larger is refused by its route with 413 without being read, so it reserves nothing)."""

    def __init__(self, app: App, limit: int, max_body: int) -> None:
        self.app = app
        self.limit = limit
        self.max_body = max_body
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = header(scope, b"content-length") if scope["type"] == "http" else b"0"
        if length is not None and length.isdigit() and int(length) <= SMALL:
            await self.app(scope, receive, send)
            return
        body = _Body(self, length, receive)
        try:
            await self.app(scope, body.receive, send)
        finally:
            self.in_flight -= body.held

    def reserve(self, size: int) -> None:
        if self.in_flight + size > self.limit:
            raise LocalExhaustion(
                f"keyproxy is holding {self.in_flight} bytes of request bodies and cannot take {size} more "
                f"(KEYPROXY_MAX_BODY_BYTES_IN_FLIGHT is {self.limit}); retry shortly",
                retry_after=1,
            )
        self.in_flight += size


class _Body:
    """One request's body as its route receives it, reserved in the budget on the first `receive`."""

    __slots__ = ("budget", "chunked", "held", "length", "source")

    def __init__(self, budget: BodyBudget, length: bytes | None, source: Receive) -> None:
        self.budget = budget
        self.length = length
        self.source = source
        self.held = 0
        self.chunked = length is None

    async def receive(self) -> Message:
        if self.length is not None:
            length, self.length = self.length, None
            if length.isdigit() and int(length) <= self.budget.max_body:
                self.budget.reserve(int(length))
                self.held = int(length)
        message = await self.source()
        if self.chunked and message["type"] == "http.request":
            size = len(message.get("body", b""))
            self.budget.reserve(size)
            self.held += size
        return message
