"""Outbound proxies on loopback, for testing keyproxy behind one: an HTTP proxy (absolute-form requests, as
clients send plain-HTTP requests through a proxy, and CONNECT tunnels for HTTPS), a SOCKS5 proxy and a
SOCKS4/4a proxy (CONNECT only).

Each records the targets it was asked for and the Proxy-Authorization it saw (HTTP) or the user name
(SOCKS), and can demand credentials: an HTTP client without them gets 407, a SOCKS one a refusal (SOCKS4
has no password: only its user name is checked).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import ssl
import struct
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class OutboundProxy:
    """`credentials`: "user:password" the proxy demands, or None for an open proxy."""

    kind: str = "http"
    credentials: str | None = None
    targets: list[str] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _open: set[asyncio.Task[None]] = field(default_factory=set)
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    _tls: bool = False

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        scheme = self.kind if self.kind.startswith("socks") else "https" if self._tls else "http"
        userinfo = f"{self.credentials}@" if self.credentials else ""
        return f"{scheme}://{userinfo}127.0.0.1:{port}"

    async def start(self, tls: ssl.SSLContext | None = None) -> OutboundProxy:
        """`tls`: the proxy itself speaks TLS (an https:// proxy), with this server context."""
        self._tls = tls is not None
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, family=socket.AF_INET, ssl=tls)
        return self

    async def stop(self) -> None:
        """Stop listening and end every connection still open, so nothing outlives the loop."""
        if self._server is not None:
            self._server.close()
        for task in self._open:
            task.cancel()
        await asyncio.gather(*self._open, return_exceptions=True)
        for writer in self._writers:
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._open.add(task)
        self._writers.append(writer)
        try:
            serve = {"socks5": self._socks, "socks4": self._socks4, "socks4a": self._socks4}.get(self.kind, self._http)
            await serve(reader, writer)
        finally:
            self._open.discard(task)
            writer.close()

    async def _http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, ValueError):
            head = await reader.readuntil(b"\r\n\r\n")
            line, *lines = head.decode("latin-1").split("\r\n")
            method, target, version = line.split(" ")
            headers = [header for header in lines if header]
            auth = [header.split(":", 1)[1].strip() for header in headers if header.lower().startswith("proxy-auth")]
            given = auth[0] if auth else None
            self.authorizations.append(given)
            expected = "Basic " + base64.b64encode(self.credentials.encode()).decode() if self.credentials else None
            if expected is not None and given != expected:
                writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
                return
            self.targets.append(target)
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                upstream_reader, upstream_writer = await asyncio.open_connection(host.strip("[]"), int(port))
                self._writers.append(upstream_writer)
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await _pipe(reader, writer, upstream_reader, upstream_writer)
                return
            url = urlsplit(target)
            upstream_reader, upstream_writer = await asyncio.open_connection(url.hostname, url.port or 80)
            self._writers.append(upstream_writer)
            path = url.path + (f"?{url.query}" if url.query else "")
            # One request per connection: the connection is piped to this target, so a later request on it
            # must come through a new one, where it is recorded and routed again.
            dropped = ("proxy-authorization:", "proxy-connection:", "connection:", "keep-alive:")
            kept = [header for header in headers if not header.lower().startswith(dropped)]
            request = "\r\n".join([f"{method} {path} {version}", *kept, "Connection: close"]) + "\r\n\r\n"
            upstream_writer.write(request.encode("latin-1"))
            await _pipe(reader, writer, upstream_reader, upstream_writer)

    async def _socks(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, ValueError):
            _, count = await reader.readexactly(2)
            methods = await reader.readexactly(count)
            if self.credentials is None:
                writer.write(b"\x05\x00")
                self.authorizations.append(None)
            else:
                if 2 not in methods:
                    writer.write(b"\x05\xff")
                    return
                writer.write(b"\x05\x02")
                _, length = await reader.readexactly(2)
                user = (await reader.readexactly(length)).decode()
                (length,) = await reader.readexactly(1)
                password = (await reader.readexactly(length)).decode()
                self.authorizations.append(user)
                if f"{user}:{password}" != self.credentials:
                    writer.write(b"\x01\x01")
                    return
                writer.write(b"\x01\x00")
            # Version, command (CONNECT is all keyproxy's client asks for), reserved, address type.
            _, _, _, kind = await reader.readexactly(4)
            if kind == 1:
                host = socket.inet_ntoa(await reader.readexactly(4))
            elif kind == 3:
                (length,) = await reader.readexactly(1)
                host = (await reader.readexactly(length)).decode()
            else:
                return
            (port,) = struct.unpack("!H", await reader.readexactly(2))
            self.targets.append(f"{host}:{port}")
            upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
            self._writers.append(upstream_writer)
            writer.write(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", 0))
            await _pipe(reader, writer, upstream_reader, upstream_writer)

    async def _socks4(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, ValueError):
            _, _, port, address = struct.unpack("!BBH4s", await reader.readexactly(8))
            user = (await reader.readuntil(b"\0"))[:-1].decode()
            self.authorizations.append(user or None)
            # SOCKS4a: an address of 0.0.0.x (x > 0) means a host name follows, for the proxy to resolve.
            named = address[:3] == b"\0\0\0" and address[3] != 0
            host = (await reader.readuntil(b"\0"))[:-1].decode() if named else socket.inet_ntoa(address)
            if self.credentials is not None and user != self.credentials.split(":")[0]:
                writer.write(b"\x00\x5b" + bytes(6))
                return
            self.targets.append(f"{host}:{port}")
            upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
            self._writers.append(upstream_writer)
            writer.write(b"\x00\x5a" + bytes(6))
            await _pipe(reader, writer, upstream_reader, upstream_writer)


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader, upstream_writer: asyncio.StreamWriter,
) -> None:  # fmt: skip
    async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.close()

    await asyncio.gather(copy(reader, upstream_writer), copy(upstream_reader, writer))
