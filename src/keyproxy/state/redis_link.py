"""One connection to Redis for the calls a request waits on, pipelined: the calls made in one turn of the
event loop go out in one write, their replies come back in order in as few reads. With a connection per
call in flight, a loaded instance paid a send and a receive per request on both sides of the socket, and
Redis an event per request; redis-py's own pipeline would batch one caller's commands, not many callers'."""

from __future__ import annotations

import asyncio
import collections
import ssl
from dataclasses import dataclass
from typing import cast

from redis.asyncio import ConnectionPool
from redis.exceptions import AuthenticationError, InvalidResponse, RedisError, ResponseError

from keyproxy.state.redis_wire import Replies, Reply, pack


@dataclass(frozen=True, slots=True)
class Address:
    """Where and how to connect, as the store's redis-py client was told by the URL (redis://, rediss://
    with its ssl_* options, unix://; user, password, database), so both reach the same place the same way."""

    host: str
    port: int
    path: str | None
    tls: ssl.SSLContext | None
    auth: tuple[bytes, ...]
    """AUTH's arguments: (password,) or (user, password); none when the URL has no password."""
    db: int
    timeout: float
    """Seconds a connection may stay silent while calls wait on it (and to connect)."""

    @classmethod
    def of(cls, pool: ConnectionPool) -> Address:
        made = pool.make_connection()  # type: ignore[no-untyped-call]
        secure = getattr(made, "ssl_context", None)
        auth = tuple(value.encode() for value in (made.username, made.password) if value) if made.password else ()
        return cls(
            getattr(made, "host", ""), getattr(made, "port", 0), getattr(made, "path", None),
            None if secure is None else secure.get(), auth, int(made.db), float(made.socket_timeout or 5.0),
        )  # fmt: skip


class Link:
    """Calls on one connection, made when the first call needs it and again after it failed. A call's
    reply comes back as it came (an error reply as a `ResponseError` raised to its caller, the stream
    still in step); a connection that drops, or is silent for `timeout` while calls wait, fails every
    call waiting on it with an `OSError` (redis_health's "down") and is replaced at the next call."""

    def __init__(self, address: Address) -> None:
        self._address = address
        self._wire: _Wire | None = None

    def call(self, packed: bytes) -> asyncio.Future[Reply]:
        """The reply to one packed command (redis_wire.command, pack)."""
        wire = self._wire
        if wire is None or wire.broken is not None:
            wire = self._wire = _Wire(self._address)
        return wire.send(packed)

    async def batch(self, commands: list[bytes]) -> list[Reply]:
        """The replies to several commands sent together; raises the first error reply among them."""
        wire = self._wire
        if wire is None or wire.broken is not None:
            wire = self._wire = _Wire(self._address)
        replies = await wire.send(b"".join(commands), len(commands))
        assert isinstance(replies, list)
        for reply in replies:
            if isinstance(reply, ResponseError):
                raise reply
        return replies

    async def close(self) -> None:
        """Close the connection (after an outage it may be dead); the next call opens another."""
        wire, self._wire = self._wire, None
        if wire is not None:
            wire.fail(ConnectionResetError("the Redis connection was closed"))


class _Batch:
    """The place in line of commands sent together: one future for all their replies."""

    __slots__ = ("future", "left", "replies")

    def __init__(self, future: asyncio.Future[Reply], count: int) -> None:
        self.future, self.left = future, count
        self.replies: list[Reply] = []


class _Wire(asyncio.Protocol):
    """One connection's life: connecting (calls queue), open, then broken for good."""

    def __init__(self, address: Address) -> None:
        self._loop = asyncio.get_running_loop()
        self._timeout = address.timeout
        self._transport: asyncio.Transport | None = None
        self._waiting: collections.deque[asyncio.Future[Reply] | _Batch] = collections.deque()
        self._out: list[bytes] = []
        self._replies = Replies()
        self._answered = 0
        """Replies read so far: the silence timer checks it moved."""
        self._timer: asyncio.TimerHandle | None = None
        self.broken: BaseException | None = None
        handshake = []
        self._authenticating = bool(address.auth)
        if address.auth:
            handshake.append(pack(b"AUTH", *address.auth))
        if address.db:
            handshake.append(pack(b"SELECT", address.db))
        self._handshake: asyncio.Future[Reply] | None = None
        if handshake:
            self._handshake = self.send(b"".join(handshake), len(handshake))
        self._opening = self._loop.create_task(self._open(address), name="keyproxy-redis-connect")

    def send(self, packed: bytes, count: int = 0) -> asyncio.Future[Reply]:
        """`count`: 0 for one command, whose reply the future gets; else the number of commands in `packed`,
        whose replies it gets as a list."""
        future: asyncio.Future[Reply] = self._loop.create_future()
        if self.broken is not None:
            future.set_exception(self.broken)
            return future
        self._waiting.append(_Batch(future, count) if count else future)
        if not self._out and self._transport is not None:
            # Written at the end of this loop turn, with every call made in it.
            self._loop.call_soon(self._flush)
        self._out.append(packed)
        if self._timer is None:
            self._arm()
        return future

    def fail(self, error: BaseException) -> None:
        """Break the connection: every call waiting on it fails with `error`."""
        if self.broken is not None:
            return
        self.broken = error
        self._opening.cancel()
        if self._timer is not None:
            self._timer.cancel()
        if self._transport is not None:
            self._transport.abort()
        waiting, self._waiting = self._waiting, collections.deque()
        for entry in waiting:
            future = entry if isinstance(entry, asyncio.Future) else entry.future
            if future is self._handshake:
                future.cancel()  # nobody awaits it: an exception set on it would be logged as never retrieved
            elif not future.done():
                future.set_exception(error)

    async def _open(self, address: Address) -> None:
        loop = self._loop
        try:
            async with asyncio.timeout(self._timeout):
                if address.path is not None:
                    await loop.create_unix_connection(lambda: self, address.path)
                else:
                    host = address.host if address.tls is not None else None
                    await loop.create_connection(lambda: self, address.host, address.port, ssl=address.tls,
                                                 server_hostname=host)  # fmt: skip
        except OSError as error:  # refused, unresolved, TLS refused (ssl.SSLError), timed out: all OSErrors
            self.fail(error)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        stream = cast(asyncio.Transport, transport)
        if self.broken is not None:
            stream.abort()
            return
        self._transport = stream
        if self._out:
            self._flush()

    def _flush(self) -> None:
        out, self._out = self._out, []
        if self._transport is not None and self.broken is None and out:
            self._transport.write(b"".join(out) if len(out) > 1 else out[0])

    def data_received(self, data: bytes) -> None:
        try:
            replies = self._replies.feed(data)
        except (RedisError, ValueError) as error:
            self.fail(InvalidResponse(f"unreadable reply from Redis: {error}"))
            return
        self._answered += len(replies)
        waiting = self._waiting
        for reply in replies:
            if not waiting:
                self.fail(ConnectionResetError("Redis sent a reply nobody asked for"))
                return
            entry = waiting[0]
            if isinstance(entry, asyncio.Future):
                waiting.popleft()
                # A caller that gave up (cancelled) is skipped: the stream stays in step.
                if not entry.done():
                    if isinstance(reply, ResponseError):
                        entry.set_exception(reply)
                    else:
                        entry.set_result(reply)
            else:
                entry.replies.append(reply)
                entry.left -= 1
                if not entry.left:
                    waiting.popleft()
                    if entry.future is self._handshake:
                        self._handshake = None
                        refused = next((item for item in entry.replies if isinstance(item, ResponseError)), None)
                        if refused is not None:
                            # Wrong password or database: every call after it would be refused too.
                            by_auth = self._authenticating and refused is entry.replies[0]
                            self.fail(AuthenticationError(str(refused)) if by_auth else refused)
                            return
                    if not entry.future.done():
                        entry.future.set_result(entry.replies)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self.fail(exc or ConnectionResetError("Redis closed the connection"))

    def _arm(self) -> None:
        self._timer = self._loop.call_later(self._timeout, self._silence, self._answered)

    def _silence(self, answered: int) -> None:
        """Every `timeout` while calls wait: a connection that answered nothing meanwhile is dead."""
        self._timer = None
        if not self._waiting:
            return
        if self._answered == answered:
            self.fail(TimeoutError(f"Redis answered nothing for {self._timeout} s"))
            return
        self._arm()
