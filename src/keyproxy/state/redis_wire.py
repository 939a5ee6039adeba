"""Redis's wire format (RESP2) by hand: commands packed, replies read as bytes arrive. redis-py's generic
packing alone cost more than the rest of a request (callgrind: ~170k instructions for SHARE's ~30
arguments, against ~480k for a whole request without Redis); a request's SHARE is mostly bytes packed
once per pool, and its reply one short bulk string."""

from __future__ import annotations

from redis.exceptions import InvalidResponse, NoScriptError, ResponseError

Reply = bytes | int | list["Reply"] | ResponseError | None
"""A bulk or status string, an integer, an array, an error reply (not raised: the caller's), or nil."""


def bulk(*values: bytes) -> bytes:
    """Values as RESP bulk strings, ready to follow a command's array header."""
    return b"".join([b"$%d\r\n%s\r\n" % (len(value), value) for value in values])


_NUMBERS = [b"$%d\r\n%d\r\n" % (len(b"%d" % n), n) for n in range(128)]


def number(value: int) -> bytes:
    """An integer as a bulk string (the small ones a request's call counts with are made once)."""
    return _NUMBERS[value] if 0 <= value < 128 else bulk(b"%d" % value)


def command(count: int, *parts: bytes) -> bytes:
    """A command of `count` arguments, already packed in `parts`."""
    return b"*%d\r\n" % count + b"".join(parts)


def pack(*args: str | int | float | bytes) -> bytes:
    """Any command: strings as UTF-8, numbers in decimal (a float as its repr, which reads back exactly)."""
    return command(len(args), bulk(*(_encoded(arg) for arg in args)))


def _encoded(arg: str | int | float | bytes) -> bytes:
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, str):
        return arg.encode()
    return repr(arg).encode()


class _Incomplete(Exception):
    """The buffer ends inside a reply: wait for more bytes."""


class Replies:
    """Replies cut from the byte stream one connection receives, whole ones only, in order."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[Reply]:
        buffer = self._buffer + data if self._buffer else data
        replies: list[Reply] = []
        at = 0
        try:
            while at < len(buffer):
                reply, at = _read(buffer, at)
                replies.append(reply)
        except _Incomplete:
            pass
        self._buffer = buffer[at:]
        return replies


def _read(buffer: bytes, at: int) -> tuple[Reply, int]:
    """The reply starting at `at`, and where the next one starts."""
    end = buffer.find(b"\r\n", at)
    if end < 0:
        raise _Incomplete
    kind, line, after = buffer[at], buffer[at + 1 : end], end + 2
    if kind == 36:  # $: a bulk string
        size = int(line)
        if size < 0:
            return None, after
        stop = after + size
        if len(buffer) < stop + 2:
            raise _Incomplete
        return buffer[after:stop], stop + 2
    if kind == 43:  # +: a status
        return line, after
    if kind == 58:  # :
        return int(line), after
    if kind == 45:  # -: an error, answered in its place
        message = line.decode(errors="replace")
        return (NoScriptError if message.startswith("NOSCRIPT") else ResponseError)(message), after
    if kind == 42:  # *: an array
        count = int(line)
        if count < 0:
            return None, after
        items: list[Reply] = []
        for _ in range(count):
            item, after = _read(buffer, after)
            items.append(item)
        return items, after
    raise InvalidResponse(f"unexpected reply from Redis (type byte {kind})")
