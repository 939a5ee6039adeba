"""A loopback HTTP/1.1 server that answers with the bytes a test scripts, for the transport's tests: it counts
the connections it accepts and keeps each request head it reads."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Script = Callable[["Canned", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def answer(body: bytes = b"ok", status: str = "200 OK", headers: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{headers}\r\n".encode() + body


async def keep_answering(canned: Canned, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer every request on the connection with a short body, keeping it open."""
    while await canned.request(reader):
        writer.write(answer())


@dataclass
class Canned:
    script: Script = keep_answering
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _scheme: str = "http"

    async def start(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> Canned:
        self._server = await asyncio.start_server(self._serve, host, 0, ssl=tls)
        self._scheme = "https" if tls else "http"
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"{self._scheme}://{f'[{host}]' if ':' in host else host}:{port}"

    async def request(self, reader: asyncio.StreamReader) -> bytes:
        """The next request's head (its body read past), or b"" once the client closed."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return b""
        self.requests.append(head)
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                await reader.readexactly(int(line.split(b":")[1]))
        return head

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            # Cancelled by stop(): ending quietly spares the log asyncio writes for a cancelled handler.
            with contextlib.suppress(ConnectionError, ssl.SSLError, asyncio.CancelledError):
                await self.script(self, reader, writer)
                await writer.drain()
        finally:
            self._tasks.discard(task)
            writer.close()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
