"""The real transport: a small HTTP/1.1 client on asyncio protocols and httptools, keeping connections to
every upstream alive, direct or through an outbound proxy. Chosen over aiohttp by measurement (docs/stack.md)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Hashable

from keyproxy import __version__
from keyproxy.errors import UpstreamProxyFailed, UpstreamUnreachable
from keyproxy.redact import shown_url
from keyproxy.transport.base import RequestTimeouts, UpstreamRequest, declared_too_large, too_large
from keyproxy.transport.connection import Connection
from keyproxy.transport.dial import Dialer, Origin
from keyproxy.transport.headers import Headers
from keyproxy.transport.pool import Pool
from keyproxy.transport.proxies import Route
from keyproxy.transport.proxy_health import ProxyHealth

_URL = re.compile(r"(https?)://([^/?#]+)([^#]*)", re.ASCII | re.IGNORECASE)
# Framing is ours to write from the body we send; a caller's own copy could only contradict it.
_FRAMING = frozenset({"content-length", "transfer-encoding"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class Http1Response:
    __slots__ = ("_conn", "_key", "_pool", "headers", "status")

    def __init__(self, conn: Connection, pool: Pool, key: Hashable) -> None:
        assert conn.headers is not None
        self.status = conn.status
        self.headers: Headers = conn.headers
        self._conn: Connection | None = conn
        self._pool = pool
        self._key = key

    async def read(self, limit: int | None = None) -> bytes:
        conn = self._conn
        if conn is None:
            return b""
        parts: list[bytes] = []
        try:
            if limit is not None and declared_too_large(self.headers, limit):
                raise too_large(limit)
            size = 0
            while True:
                if data := conn.take():
                    size += len(data)
                    if limit is not None and size > limit:
                        raise too_large(limit)
                    parts.append(data)
                elif conn.complete:
                    break
                else:
                    await conn.wait()
        except BaseException:
            self._drop()
            raise
        self.close()
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def iter_chunks(self, idle: float | None = None) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        try:
            while True:
                # Bytes already here need no timer; only a real wait arms one.
                if data := conn.take():
                    yield data
                elif conn.complete:
                    break
                elif not await conn.wait(idle):
                    yield b""
        except BaseException:
            # Failed (the connection is closed then) or abandoned: kept only if the whole answer is in.
            self.close()
            raise
        self.close()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def close(self) -> None:
        """An answer that arrived whole returns its connection to the pool, even if the caller stopped
        reading it (at an SSE stream's last event, say); one still arriving closes it."""
        conn, self._conn = self._conn, None
        if conn is not None:
            if conn.finish():
                self._pool.put(self._key, conn)
            else:
                conn.close()


class Http1Transport:
    """No total timeout here, the engine owns the deadline."""

    def __init__(self, proxy_health: ProxyHealth | None = None) -> None:
        """`proxy_health` is told of each connection through an outbound proxy opened or failing."""
        self._pool: Pool | None = None
        self._origins: dict[tuple[str, str], Origin] = {}
        self._routes: dict[str, Route] = {}
        self._dialer = Dialer(proxy_health)
        self._proxy_health = proxy_health
        self._agent = f"User-Agent: keyproxy/{__version__}\r\n"

    async def send(self, request: UpstreamRequest, timeouts: RequestTimeouts) -> Http1Response:
        found = _URL.match(request.url)
        if found is None:
            raise UpstreamUnreachable(f"cannot send to {shown_url(request.url)}: not an http(s) URL")
        scheme, authority, target = found.groups()
        origin = self._origins.get((scheme, authority)) or self._origin(scheme, authority)
        route = None if request.proxy is None else self._route(request.proxy)
        # A plain-HTTP request through an HTTP proxy goes to the proxy itself, naming the whole URL.
        forward = route is not None and not route.socks and not origin.tls
        if forward:
            target = request.url.partition("#")[0]
        elif not target.startswith("/"):
            target = "/" + target
        data = self._head(request, origin.host_header, target, route if forward else None)
        head_only = request.method == "HEAD"
        pool = self._pool or self._start()
        key = (scheme, authority, request.proxy)
        conn = pool.take(key)
        if conn is not None:
            conn.begin(head_only, timeouts.read, data, request.body)
            try:
                await _answer(conn)
            except UpstreamUnreachable:
                # Closed by the upstream while idle, before it read the request (no byte came back): the
                # request was never processed, so sending it again on a new connection is safe.
                conn = None
        if conn is None:
            conn = await self._dialer.open(origin, route, timeouts)
            conn.begin(head_only, timeouts.read, data, request.body)
            await _answer(conn)
        if forward:
            assert route is not None
            if conn.status == 407:
                conn.close()
                refused = UpstreamProxyFailed(f"proxy {route.shown} refused its credentials (407)")
                if self._proxy_health is not None:
                    self._proxy_health.failed(route.url, str(refused))
                raise refused
            if self._proxy_health is not None:
                self._proxy_health.reached(route.url)
        return Http1Response(conn, pool, key)

    def _head(self, request: UpstreamRequest, host: str, target: str, route: Route | None) -> bytes:
        lines = [f"{request.method} {target} HTTP/1.1\r\n", ""]
        agent = True
        for name, value in request.headers.items():
            lower = name.lower()
            if lower in _FRAMING:
                continue
            if lower == "host":
                host = value
                continue
            if lower == "user-agent":
                agent = False
            lines.append(f"{name}: {value}\r\n")
        lines[1] = f"Host: {host}\r\n"
        if agent:
            lines.append(self._agent)
        if request.body is not None:
            lines.append(f"Content-Length: {len(request.body)}\r\n")
        elif request.method in _BODY_METHODS:
            lines.append("Content-Length: 0\r\n")
        if route is not None and route.authorization is not None:
            lines.append(f"Proxy-Authorization: {route.authorization}\r\n")
        lines.append("\r\n")
        head = "".join(lines)
        if head.count("\n") != len(lines):
            # One line per entry, or a value carried a line break that would forge headers of its own.
            raise ValueError("a request header contains a line break")
        return head.encode()

    def _origin(self, scheme: str, authority: str) -> Origin:
        try:
            origin = self._origins[(scheme, authority)] = Origin.of(scheme, authority)
        except ValueError as exc:
            raise UpstreamUnreachable(f"cannot send to {scheme}://{authority.rpartition('@')[2]}: bad port") from exc
        return origin

    def _route(self, proxy: str) -> Route:
        route = self._routes.get(proxy)
        if route is None:
            route = self._routes[proxy] = Route.of(proxy)
        return route

    def _start(self) -> Pool:
        # Made at the first request so it binds to the running loop, not the one at construction.
        self._pool = Pool(asyncio.get_running_loop())
        return self._pool

    async def aclose(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


async def _answer(conn: Connection) -> None:
    """Until the status line and headers are in; the connection is dropped if they never come."""
    try:
        while conn.headers is None:
            await conn.wait()
    except BaseException:
        conn.close()
        raise
