"""Opening a connection to an upstream: TCP, TLS, and the outbound proxy's handshake on the way, bounded by
the connect timeouts, with failures mapped onto keyproxy's errors by type and errno."""

from __future__ import annotations

import asyncio
import errno
import os
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from keyproxy.errors import LocalExhaustion, UpstreamError, UpstreamProxyFailed, UpstreamTimeout, UpstreamUnreachable
from keyproxy.transport.base import RequestTimeouts
from keyproxy.transport.connection import Connection
from keyproxy.transport.proxies import Route, tunnel
from keyproxy.transport.proxy_health import ProxyHealth

# The local machine ran out of something a connection needs; no upstream was even reached.
_LOCAL_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a URL's scheme://authority connects, and the Host header its requests carry."""

    host: str
    port: int
    tls: bool
    host_header: str

    @classmethod
    def of(cls, scheme: str, authority: str) -> Origin:
        authority = authority.rpartition("@")[2]
        parts = urlsplit(f"{scheme}://{authority}")
        tls = scheme.lower() == "https"
        default = 443 if tls else 80
        host = parts.hostname or ""
        port = parts.port or default
        # As browsers and curl do: the default port is left out of Host.
        shown = f"[{host}]" if ":" in host else host
        return cls(host, port, tls, shown if port == default else f"{shown}:{port}")


def _local(exc: OSError) -> LocalExhaustion | None:
    if exc.errno in _LOCAL_ERRNOS and not isinstance(exc, ssl.SSLError):
        return LocalExhaustion(f"keyproxy cannot open another upstream connection: {os.strerror(exc.errno)}")
    return None


class Dialer:
    def __init__(self, health: ProxyHealth | None = None) -> None:
        self._tls: ssl.SSLContext | None = None
        self._health = health

    async def open(self, origin: Origin, route: Route | None, timeouts: RequestTimeouts) -> Connection:
        loop = asyncio.get_running_loop()
        try:
            # Without a pool limit there is no wait for a slot: pool + connect bounds the whole of it, as before.
            async with asyncio.timeout(timeouts.pool + timeouts.connect):
                if route is None:
                    async with asyncio.timeout(timeouts.connect):
                        tls = self._context() if origin.tls else None
                        _, conn = await loop.create_connection(
                            lambda: Connection(loop), origin.host, origin.port, ssl=tls,
                            server_hostname=origin.host if tls else None,
                        )  # fmt: skip
                    return conn
                return await self._through(loop, route, origin, timeouts.connect)
        except UpstreamProxyFailed as exc:
            if self._health is not None and route is not None:
                self._health.failed(route.url, str(exc))
            raise
        except UpstreamError:
            raise
        except TimeoutError as exc:
            if self._health is not None and route is not None:
                self._health.failed(route.url, f"proxy {route.shown} did not answer within the connect timeout")
            raise UpstreamTimeout("upstream timed out while connecting") from exc
        except OSError as exc:
            raise _local(exc) or UpstreamUnreachable(f"cannot connect to upstream {origin.host}:{origin.port}") from exc

    async def _through(
        self, loop: asyncio.AbstractEventLoop, route: Route, origin: Origin, connect: float
    ) -> Connection:
        tls = self._context() if route.scheme == "https" else None
        try:
            async with asyncio.timeout(connect):
                _, conn = await loop.create_connection(
                    lambda: Connection(loop, raw=True), route.host, route.port, ssl=tls,
                    server_hostname=route.host if tls else None,
                )  # fmt: skip
        except TimeoutError:
            raise  # a TimeoutError is an OSError too: a timeout stays a timeout, as it is without a proxy
        except OSError as exc:
            raise _local(exc) or UpstreamProxyFailed(f"cannot reach the upstream through proxy {route.shown}") from exc
        try:
            await tunnel(conn, route, origin.host, origin.port, origin.tls)
        except (OSError, ValueError, IndexError) as exc:
            conn.close()
            raise UpstreamProxyFailed(f"cannot reach the upstream through proxy {route.shown}") from exc
        except BaseException:
            conn.close()
            raise
        if self._health is not None and (route.socks or origin.tls):
            # A handshake the proxy answered; a request merely forwarded tells only with its answer (http1.py).
            self._health.reached(route.url)
        if origin.tls:
            try:
                async with asyncio.timeout(connect):
                    assert conn.transport is not None
                    upgraded = await loop.start_tls(conn.transport, conn, self._context(), server_hostname=origin.host)
            except BaseException:
                conn.close()
                raise
            conn.transport = upgraded
        return conn

    def _context(self) -> ssl.SSLContext:
        # Made at the first HTTPS connection: loading the trust store (SSL_CERT_FILE/SSL_CERT_DIR are honoured,
        # as Python honours them) is work a plain-HTTP setup never needs.
        if self._tls is None:
            self._tls = ssl.create_default_context()
            self._tls.set_alpn_protocols(["http/1.1"])
        return self._tls
