"""MockTransport(handler): the seam for in-memory tests, as httpx does it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field

from keyproxy.errors import UpstreamError
from keyproxy.transport.base import RequestTimeouts, UpstreamRequest, declared_too_large, too_large


@dataclass(slots=True)
class MockResponse:
    """A canned response. Chunks are sent in order; an UpstreamError among them is raised at that point,
    and an empty chunk stands for a silence long enough to trigger the reader's idle timeout."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    chunks: Iterable[bytes | UpstreamError] = ()
    closed: bool = False

    @classmethod
    def json(cls, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> MockResponse:
        return cls(status, {"content-type": "application/json", **(headers or {})}, [body])

    async def read(self, limit: int | None = None) -> bytes:
        if declared_too_large(self.headers, limit):
            raise too_large(limit or 0)
        body = b"".join([chunk async for chunk in self.iter_chunks() if chunk])
        if limit is not None and len(body) > limit:
            raise too_large(limit)
        return body

    async def iter_chunks(self, idle: float | None = None) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            if isinstance(chunk, UpstreamError):
                raise chunk
            yield chunk

    def close(self) -> None:
        self.closed = True


Handler = Callable[[UpstreamRequest], Awaitable[MockResponse]]


class MockTransport:
    """Answers each request with `handler(request)`; `requests` and `timeouts` record what was sent, in order."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[UpstreamRequest] = []
        self.timeouts: list[RequestTimeouts] = []

    async def send(self, request: UpstreamRequest, timeouts: RequestTimeouts) -> MockResponse:
        self.requests.append(request)
        self.timeouts.append(timeouts)
        return await self.handler(request)

    async def aclose(self) -> None:
        return None
