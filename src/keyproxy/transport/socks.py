"""The SOCKS4, SOCKS4a and SOCKS5 handshakes (RFC 1928, RFC 1929 for the user name and password), asking the
proxy for a TCP connection to the upstream over a connection already open to it."""

from __future__ import annotations

import ipaddress
import socket
import struct
from typing import TYPE_CHECKING

from keyproxy.errors import UpstreamProxyFailed

if TYPE_CHECKING:
    from keyproxy.transport.connection import Connection
    from keyproxy.transport.proxies import Route

_SOCKS4_GRANTED = 0x5A
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


async def socks_handshake(conn: Connection, route: Route, host: str, port: int) -> None:
    if route.scheme in ("socks4", "socks4a"):
        await _socks4(conn, route, host, port)
    else:
        await _socks5(conn, route, host, port)


async def _socks4(conn: Connection, route: Route, host: str, port: int) -> None:
    user = (route.user or "").encode()
    literal = _literal(host)
    if literal is not None and literal.version == 4:
        request = struct.pack("!BBH", 4, 1, port) + literal.packed + user + b"\0"
    elif route.scheme == "socks4a":
        # 0.0.0.1: "the proxy resolves the name that follows".
        request = struct.pack("!BBH", 4, 1, port) + b"\0\0\0\1" + user + b"\0" + host.encode("idna") + b"\0"
    else:
        address = await _resolve(conn, host, port, socket.AF_INET)
        request = struct.pack("!BBH", 4, 1, port) + address.packed + user + b"\0"
    _write(conn, request)
    reply = await conn.read_raw(8)
    if reply[1] != _SOCKS4_GRANTED:
        raise UpstreamProxyFailed(f"proxy {route.shown} refused the connection to the upstream ({reply[1]})")


async def _socks5(conn: Connection, route: Route, host: str, port: int) -> None:
    _write(conn, b"\x05\x02\x00\x02" if route.user is not None else b"\x05\x01\x00")
    _, method = await conn.read_raw(2)
    if method == 2 and route.user is not None:
        user, password = route.user.encode(), (route.password or "").encode()
        _write(conn, bytes([1, len(user)]) + user + bytes([len(password)]) + password)
        if (await conn.read_raw(2))[1] != 0:
            raise UpstreamProxyFailed(f"proxy {route.shown} refused its credentials")
    elif method != 0:
        raise UpstreamProxyFailed(f"proxy {route.shown} accepts none of our authentication methods")
    _write(conn, b"\x05\x01\x00" + await _socks5_address(conn, route, host, port) + struct.pack("!H", port))
    _, status, _, kind = await conn.read_raw(4)
    if status != 0:
        raise UpstreamProxyFailed(f"proxy {route.shown} refused the connection to the upstream ({status})")
    # The address the proxy bound for us: read past it, nothing needs it.
    size = {1: 4, 4: 16}.get(kind)
    if size is None:
        size = (await conn.read_raw(1))[0]
    await conn.read_raw(size + 2)


async def _socks5_address(conn: Connection, route: Route, host: str, port: int) -> bytes:
    address = _literal(host)
    if address is None:
        if route.scheme == "socks5h":
            name = host.encode("idna")
            return bytes([3, len(name)]) + name
        address = await _resolve(conn, host, port, socket.AF_UNSPEC)
    return (b"\x01" if address.version == 4 else b"\x04") + address.packed


async def _resolve(conn: Connection, host: str, port: int, family: int) -> Address:
    """socks4:// and socks5:// resolve the upstream's name here (socks4a:// and socks5h:// leave it to the proxy)."""
    found = await conn.loop.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
    return ipaddress.ip_address(found[0][4][0])


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _write(conn: Connection, data: bytes) -> None:
    assert conn.transport is not None
    conn.transport.write(data)
