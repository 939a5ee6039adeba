"""One exchange being captured, held in memory until it ends, each body bounded by the capture size.

Raw bytes are kept here as they pass; scrubbing keys and encoding happen on the writer's thread
(`record.py`), so the event loop only slices and appends.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable

from keyproxy.events import AttemptEvent

current: contextvars.ContextVar[Exchange | None] = contextvars.ContextVar("keyproxy_capture", default=None)
"""The exchange of the request being served; set by the app only while capture is on."""

Headers = Iterable[tuple[str, str]] | Iterable[tuple[bytes, bytes]]
"""As they came (ASGI's bytes, a transport's mapping items): decoded only when written."""


class Body:
    """The first `limit` bytes of a body, in the pieces they came in, and how many bytes there were."""

    __slots__ = ("kept", "limit", "parts", "seen")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[bytes] = []
        self.kept = 0
        self.seen = 0

    def add(self, data: bytes) -> None:
        self.seen += len(data)
        room = self.limit - self.kept
        if room <= 0 or not data:
            return
        piece = data[:room] if len(data) > room else data
        self.parts.append(piece)
        self.kept += len(piece)

    @property
    def truncated(self) -> bool:
        return self.seen > self.kept


class UpstreamCall:
    """One request keyproxy sent upstream (after translation), and what came back."""

    __slots__ = (
        "answer", "body", "error", "headers", "method", "proxy", "response_headers", "status", "streamed", "url",
    )  # fmt: skip

    def __init__(
        self, method: str, url: str, headers: Headers, body: bytes | None, limit: int, proxy: str | None = None
    ) -> None:
        self.method = method
        self.url = url
        self.proxy = proxy
        """The outbound proxy it went through (its password too: shown only through `shown_url`)."""
        self.headers = headers
        self.body = Body(limit)
        if body:
            self.body.add(body)
        self.status: int | None = None
        self.response_headers: Headers = ()
        self.answer = Body(limit)
        self.streamed = False
        self.error: str | None = None


class Exchange:
    """A client's request as received, the upstream calls it made, its attempts and the answer it got.

    `failed` is set by whatever sees a failure (a failed attempt, an upstream error, an error status);
    once `closed`, late additions (a task that outlived the request) are ignored."""

    __slots__ = (
        "answer", "answer_headers", "attempts", "calls", "client", "closed", "complete", "failed", "id", "limit",
        "method", "path", "query", "request", "request_headers", "seconds", "started", "status",
    )  # fmt: skip

    def __init__(
        self, exchange_id: str, started: float, method: str, path: str, query: bytes, headers: Headers,
        client: str, limit: int,
    ) -> None:  # fmt: skip
        self.id = exchange_id
        self.started = started
        """Wall-clock time the request arrived."""
        self.method = method
        self.path = path
        self.query = query
        self.request_headers = headers
        self.client = client
        self.limit = limit
        self.request = Body(limit)
        self.calls: list[UpstreamCall] = []
        self.attempts: list[AttemptEvent] = []
        self.status: int | None = None
        self.answer_headers: Headers = ()
        self.answer = Body(limit)
        self.complete = False
        self.failed = False
        self.closed = False
        self.seconds = 0.0

    def call(
        self, method: str, url: str, headers: Headers, body: bytes | None, proxy: str | None = None
    ) -> UpstreamCall:
        call = UpstreamCall(method, url, headers, body, self.limit, proxy)
        if not self.closed:
            self.calls.append(call)
        return call

    def attempt(self, event: AttemptEvent) -> None:
        if self.closed:
            return
        self.attempts.append(event)
        if event.outcome is not None:
            self.failed = True

    def close(self, seconds: float) -> None:
        self.closed = True
        self.seconds = seconds
        if self.status is None or self.status >= 400 or not self.complete:
            self.failed = True
