"""A client dialect: how one client API shapes errors and ends streams. Routes are declared with theirs, so
every error a route raises, before or during its answer, reaches the client in the client's own terms."""

from __future__ import annotations

from keyproxy.api.asgi import Send, retry_after_header, send_bytes
from keyproxy.errors import KeyproxyError, UpstreamClientError


class Dialect:
    """`end_marker` is what a complete stream ends with; `keepalive` what fills a silence between events."""

    name: str
    end_marker: bytes
    keepalive: bytes = b": keep-alive\n\n"

    def error_body(self, error: KeyproxyError, status: int) -> bytes:
        """The error as this dialect's clients read it, for a response with `status`."""
        raise NotImplementedError

    def is_own_error(self, body: bytes) -> bool:
        """Whether an upstream's error body is already in this dialect's shape, so it can go back as it is."""
        raise NotImplementedError

    def error_event(self, error: KeyproxyError) -> bytes:
        """The event that ends a stream that broke off."""
        raise NotImplementedError

    async def send_error(self, send: Send, error: KeyproxyError) -> None:
        """An upstream's own client error keeps its status, and its words when they are in this shape."""
        status = error.status
        body = b""
        if isinstance(error, UpstreamClientError):
            status = error.upstream_status
            body = error.body if self.is_own_error(error.body) else b""
        await send_bytes(send, status, body or self.error_body(error, status), extra=retry_after_header(error))
