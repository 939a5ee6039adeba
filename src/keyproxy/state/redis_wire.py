"""The SHARE call packed by hand and sent on connections kept for it: redis-py's generic command packing
alone cost more than the rest of a request (callgrind: ~170k instructions for its ~30 arguments, against
~480k for a whole request without Redis), and its pool's lock and bookkeeping about as much again."""

from __future__ import annotations

from redis.asyncio import ConnectionPool
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ResponseError


def bulk(*values: bytes) -> bytes:
    """Values as RESP bulk strings, ready to follow a command's array header."""
    return b"".join([b"$%d\r\n%s\r\n" % (len(value), value) for value in values])


def command(count: int, *parts: bytes) -> bytes:
    """A command of `count` arguments, already packed in `parts`."""
    return b"*%d\r\n" % count + b"".join(parts)


class Lane:
    """Connections made by the client's pool (its address, timeouts and credentials) but kept here, each
    used by one call at a time. Errors are redis-py's own, as for any other call."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._idle: list[AbstractConnection] = []

    async def call(self, packed: bytes) -> object:
        connection = self._idle.pop() if self._idle else self._pool.make_connection()  # type: ignore[no-untyped-call]
        try:
            await connection.send_packed_command(packed, check_health=False)
            reply = await connection.read_response()
        except ResponseError:
            # Redis answered (with an error): the connection is in step and can serve the next call.
            self._idle.append(connection)
            raise
        except BaseException:
            # Dropped, timed out or cancelled mid-answer: its stream is out of step.
            await connection.disconnect()
            raise
        self._idle.append(connection)
        return reply

    async def close(self) -> None:
        """Disconnect the idle connections (after an outage they may be dead); calls make new ones."""
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.disconnect()
