"""The one upstream transport seam: adapters describe requests, a Transport performs them.

Transports raise only UpstreamUnreachable, UpstreamTimeout and InvalidUpstreamResponse, and
LocalExhaustion when this machine cannot open a connection (which says nothing about any key); an
HTTP error status is a normal response here and is classified by the provider adapter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Protocol

import msgspec

from keyproxy.errors import InvalidUpstreamResponse


@dataclass(frozen=True, slots=True)
class RequestTimeouts:
    """Seconds; `read` is the longest silence allowed between two reads of the body. There is no write
    timeout: `read` counts from handing the request to the socket (docs/configuration.md, TIMEOUT_WRITE)."""

    connect: float
    pool: float
    read: float


class UpstreamRequest(msgspec.Struct, frozen=True, gc=False):
    """One per attempt: a struct, which msgspec builds in C."""

    method: str
    url: str
    headers: Mapping[str, str]
    """They carry the key: never in the repr."""
    body: bytes | None = None
    proxy: str | None = None
    """The outbound proxy to go through (it may carry a password); None: connect directly."""

    def __repr__(self) -> str:
        return f"UpstreamRequest(method={self.method!r}, url={self.url!r})"


class UpstreamResponse(Protocol):
    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]:
        """Case-insensitive."""
        ...

    async def read(self, limit: int | None = None) -> bytes:
        """The whole body, then the connection goes back to the pool; past `limit` bytes (by Content-Length
        or while reading) `too_large(limit)` is raised instead and the connection dropped."""
        ...

    def iter_chunks(self, idle: float | None = None) -> AsyncIterator[bytes]:
        """Body bytes as they arrive, in pieces of any size; an empty piece after `idle` seconds of silence."""
        ...

    def close(self) -> None:
        """Give the connection up; safe to call twice and after `read`."""
        ...


class Transport(Protocol):
    async def send(self, request: UpstreamRequest, timeouts: RequestTimeouts) -> UpstreamResponse:
        """Send the request; return once the status line and headers are in."""
        ...

    async def aclose(self) -> None: ...


def too_large(limit: int) -> InvalidUpstreamResponse:
    """What an answer larger than the proxy takes is: invalid, whatever it says (AnswerLimits)."""
    return InvalidUpstreamResponse(f"upstream sent an answer larger than {limit} bytes")


def declared_too_large(headers: Mapping[str, str], limit: int | None) -> bool:
    declared = headers.get("content-length", "")
    return limit is not None and declared.isdigit() and int(declared) > limit
