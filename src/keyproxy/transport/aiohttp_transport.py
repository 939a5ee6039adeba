"""The real transport: one pooled aiohttp session, chosen by measurement (docs/stack.md)."""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import AsyncIterator, Mapping

import aiohttp

from keyproxy import __version__
from keyproxy.errors import (
    InvalidUpstreamResponse,
    LocalExhaustion,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from keyproxy.transport.base import RequestTimeouts, UpstreamRequest, declared_too_large, too_large

# The local machine ran out of something a connection needs; no upstream was even reached.
_LOCAL_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def _translate(exc: BaseException) -> UpstreamError | LocalExhaustion:
    """aiohttp's exceptions onto ours, by type and errno only."""
    if isinstance(exc, OSError) and exc.errno in _LOCAL_ERRNOS:
        return LocalExhaustion(f"keyproxy cannot open another upstream connection: {os.strerror(exc.errno)}")
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return UpstreamTimeout("upstream timed out")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return InvalidUpstreamResponse("upstream closed the connection before the body was complete")
    if isinstance(exc, aiohttp.ClientResponseError):
        return InvalidUpstreamResponse(f"upstream sent an invalid HTTP response ({exc.status})")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return UpstreamUnreachable(f"cannot connect to upstream {exc.host}:{exc.port}")
    return UpstreamUnreachable(f"upstream connection failed ({type(exc).__name__})")


class AiohttpResponse:
    __slots__ = ("_response",)

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    async def read(self, limit: int | None = None) -> bytes:
        try:
            if limit is None:
                return await self._response.read()
            if declared_too_large(self._response.headers, limit):
                raise too_large(limit)
            parts: list[bytes] = []
            size = 0
            while chunk := await self._response.content.readany():
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                parts.append(chunk)
            return b"".join(parts)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _translate(exc) from exc
        finally:
            # A body read whole goes back to the pool; one left unread closes its connection.
            self._response.release()

    async def iter_chunks(self, idle: float | None = None) -> AsyncIterator[bytes]:
        content = self._response.content
        try:
            while True:
                # Data already buffered needs no timer; only a real wait arms the idle timeout.
                chunk = content.read_nowait()
                if not chunk:
                    if content.at_eof():
                        return
                    if idle is None:
                        chunk = await content.readany()
                    else:
                        timer = asyncio.timeout(idle)
                        try:
                            async with timer:
                                chunk = await content.readany()
                        except TimeoutError:
                            if not timer.expired():
                                raise
                            yield b""
                            continue
                    if not chunk:
                        return
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _translate(exc) from exc

    def close(self) -> None:
        self._response.close()


class AiohttpTransport:
    """Keeps connections to every upstream alive; no total timeout here, the engine owns the deadline."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Created lazily so it binds to the running loop, not the one at import or construction.
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=60)
            # Bytes are relayed as they come: ask for no compression rather than pay to undo it.
            self._session = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(), raise_for_status=False,
                auto_decompress=False, skip_auto_headers=("Accept-Encoding",),
                headers={"User-Agent": f"keyproxy/{__version__}"},
            )  # fmt: skip
        return self._session

    async def send(self, request: UpstreamRequest, timeouts: RequestTimeouts) -> AiohttpResponse:
        timeout = aiohttp.ClientTimeout(
            total=None, connect=timeouts.pool + timeouts.connect, sock_connect=timeouts.connect,
            sock_read=timeouts.read,
        )  # fmt: skip
        try:
            response = await self._client().request(
                request.method, request.url, data=request.body, headers=dict(request.headers),
                timeout=timeout, allow_redirects=False,
            )  # fmt: skip
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _translate(exc) from exc
        return AiohttpResponse(response)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
