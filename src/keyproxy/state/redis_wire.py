"""The SHARE call packed by hand and sent on one of the client's pooled connections: redis-py's generic
command packing alone cost more than the rest of a request (callgrind: ~170k instructions for its ~30
arguments, against ~480k for a whole request without Redis); a pool's key names are packed once."""

from __future__ import annotations

from redis.asyncio import ConnectionPool


def bulk(*values: bytes) -> bytes:
    """Values as RESP bulk strings, ready to follow a command's array header."""
    return b"".join(b"$%d\r\n%s\r\n" % (len(value), value) for value in values)


def command(count: int, *parts: bytes) -> bytes:
    """A command of `count` arguments, already packed in `parts`."""
    return b"*%d\r\n" % count + b"".join(parts)


async def call(pool: ConnectionPool, packed: bytes) -> object:
    """Send one packed command and read its answer; errors are redis-py's own (a Redis error, a dropped
    or timed-out connection, which is then closed), as for any other call."""
    connection = await pool.get_connection()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
    try:
        await connection.send_packed_command(packed, check_health=False)
        return await connection.read_response()
    finally:
        await pool.release(connection)
