"""Going through an outbound proxy: a proxy URL taken apart once, and the handshake that turns a connection
to the proxy into one to the upstream (HTTP CONNECT or SOCKS). A plain-HTTP request through an HTTP proxy
needs no handshake: it is sent to the proxy in absolute form (transport/http1.py)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from keyproxy.errors import UpstreamProxyFailed
from keyproxy.redact import shown_url
from keyproxy.transport.connection import Connection
from keyproxy.transport.socks import socks_handshake

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Route:
    scheme: str
    host: str
    port: int
    user: str | None
    password: str | None
    authorization: str | None
    """The Proxy-Authorization an HTTP proxy is sent; None without credentials or for SOCKS."""
    shown: str
    """Safe to log and to answer: no password."""
    url: str = field(repr=False)
    """The proxy URL as configured (it may carry a password): what its health is known by."""

    @property
    def socks(self) -> bool:
        return self.scheme.startswith("socks")

    @classmethod
    def of(cls, proxy: str) -> Route:
        parts = urlsplit(proxy)
        scheme = parts.scheme.lower()
        user = unquote(parts.username) if parts.username is not None else None
        password = unquote(parts.password) if parts.password is not None else None
        authorization = None
        if user is not None and not scheme.startswith("socks"):
            authorization = "Basic " + base64.b64encode(f"{user}:{password or ''}".encode()).decode()
        port = parts.port or _DEFAULT_PORTS.get(scheme, 1080)
        return cls(scheme, parts.hostname or "", port, user, password, authorization, shown_url(proxy), proxy)


async def tunnel(conn: Connection, route: Route, host: str, port: int, tls: bool) -> None:
    """Make `conn`, open to the proxy, a connection to host:port; a plain-HTTP upstream behind an HTTP proxy
    needs nothing. Raises UpstreamProxyFailed when the proxy refuses, OSError/ValueError when it misbehaves."""
    if route.socks:
        await socks_handshake(conn, route, host, port)
    elif tls:
        await _connect(conn, route, host, port)
    conn.http()


async def _connect(conn: Connection, route: Route, host: str, port: int) -> None:
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    head = f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n"
    if route.authorization is not None:
        head += f"Proxy-Authorization: {route.authorization}\r\n"
    assert conn.transport is not None
    conn.transport.write((head + "\r\n").encode("latin-1"))
    answer = await conn.read_raw_head()
    status = int(answer.split(b" ", 2)[1])
    if status == 407:
        raise UpstreamProxyFailed(f"proxy {route.shown} refused its credentials (407)")
    if not 200 <= status < 300:
        raise UpstreamProxyFailed(f"proxy {route.shown} refused the tunnel to the upstream ({status})")
