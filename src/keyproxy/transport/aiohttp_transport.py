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
    UpstreamProxyFailed,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from keyproxy.transport.base import RequestTimeouts, UpstreamRequest, declared_too_large, too_large
from keyproxy.transport.proxies import HTTP_PROXY_ERRORS, Route, socks_connector, socks_errors

# The local machine ran out of something a connection needs; no upstream was even reached.
_LOCAL_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def _session(connector: aiohttp.BaseConnector) -> aiohttp.ClientSession:
    # Bytes are relayed as they come: ask for no compression rather than pay to undo it.
    return aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar(), raise_for_status=False, auto_decompress=False,
        skip_auto_headers=("Accept-Encoding",), headers={"User-Agent": f"keyproxy/{__version__}"},
    )  # fmt: skip


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
    """Keeps connections to every upstream alive; no total timeout here, the engine owns the deadline.
    Requests with a proxy go through it (transport/proxies.py); a SOCKS proxy has a session of its own."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._routes: dict[str, Route] = {}
        self._socks: dict[str, aiohttp.ClientSession] = {}

    def _client(self) -> aiohttp.ClientSession:
        # Created lazily so it binds to the running loop, not the one at import or construction.
        if self._session is None:
            self._session = _session(aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=60))
        return self._session

    async def send(self, request: UpstreamRequest, timeouts: RequestTimeouts) -> AiohttpResponse:
        timeout = aiohttp.ClientTimeout(
            total=None, connect=timeouts.pool + timeouts.connect, sock_connect=timeouts.connect,
            sock_read=timeouts.read,
        )  # fmt: skip
        session, route, headers = self._client(), None, dict(request.headers)
        extra: dict[str, object] = {}
        if request.proxy is not None:
            route = self._route(request.proxy)
            session, extra = self._via(route, request.url, headers)
        try:
            response = await session.request(
                request.method, request.url, data=request.body, headers=headers,
                timeout=timeout, allow_redirects=False, **extra,  # type: ignore[arg-type]
            )  # fmt: skip
        except (TimeoutError, aiohttp.ClientError) as exc:
            if route is not None and isinstance(exc, HTTP_PROXY_ERRORS):
                raise UpstreamProxyFailed(f"cannot reach the upstream through proxy {route.shown}") from exc
            raise _translate(exc) from exc
        except Exception as exc:
            if route is not None and route.socks is not None and isinstance(exc, socks_errors()):
                raise UpstreamProxyFailed(f"cannot reach the upstream through proxy {route.shown}") from exc
            raise
        if route is not None and response.status == 407:
            # The proxy's own refusal of a plain-HTTP request (an HTTPS one fails at CONNECT, above).
            response.release()
            raise UpstreamProxyFailed(f"proxy {route.shown} refused its credentials (407)")
        return AiohttpResponse(response)

    def _via(self, route: Route, url: str, headers: dict[str, str]) -> tuple[aiohttp.ClientSession, dict[str, object]]:
        """The session to send through `route`, and what the request needs to say to use it."""
        if route.socks is None:
            if route.headers and url.startswith("http://"):
                # A plain-HTTP request goes to the proxy itself, carrying its credentials; aiohttp sends the
                # proxy headers only with the CONNECT of an HTTPS one.
                headers.update(route.headers)
            return self._client(), {"proxy": route.url, "proxy_headers": route.headers}
        session = self._socks.get(route.socks)
        if session is None:
            session = self._socks[route.socks] = _session(socks_connector(route))
        return session, {}

    def _route(self, proxy: str) -> Route:
        route = self._routes.get(proxy)
        if route is None:
            route = self._routes[proxy] = Route.of(proxy)
        return route

    async def aclose(self) -> None:
        sessions = [self._session, *self._socks.values()]
        self._session, self._socks = None, {}
        for session in sessions:
            if session is not None:
                await session.close()
