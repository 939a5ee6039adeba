"""Server-sent events, incrementally: bytes in any pieces go in, whole events come out."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec

from keyproxy.errors import InvalidUpstreamResponse


# A struct: one is made per event of every stream relayed, and msgspec builds it in C.
class Event(msgspec.Struct, frozen=True, gc=False):
    event: str
    """The `event:` field; "message" when the stream names none."""
    data: str
    """The `data:` lines joined with newlines."""


class SSEParser:
    """Feeds on raw stream bytes; events split across pieces are held until their blank line arrives.

    Only the new bytes are searched for a blank line, so an event that arrives in many pieces costs time in
    proportion to its size (the upstream answer limits bound that size: `capped_events`)."""

    __slots__ = ("_buffer", "_searched")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._searched = 0
        """How much of the buffer is known to hold no blank line."""

    def feed(self, chunk: bytes) -> list[Event]:
        buffer = self._buffer
        buffer += chunk
        events: list[Event] = []
        # A blank line may end in the new bytes but start up to three bytes before them.
        start, search = 0, max(0, self._searched - _LONGEST + 1)
        while (found := _boundary(buffer, search))[0] >= 0:
            cut, size = found
            event = _parse(bytes(buffer[start:cut]))
            if event is not None:
                events.append(event)
            start = search = cut + size
        if start:
            del buffer[:start]
        self._searched = len(buffer)
        return events

    @property
    def pending(self) -> bool:
        """Whether bytes of an unfinished event are held (a stream that ends here was cut mid-event)."""
        return bool(self._buffer.strip())


def encode(data: str, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data}\n\n".encode()


_SEPARATORS = (b"\n\n", b"\r\n\r\n", b"\r\r")
_LONGEST = max(len(separator) for separator in _SEPARATORS)


def _boundary(buffer: bytes | bytearray, start: int = 0) -> tuple[int, int]:
    """The first blank line from `start`, whichever line ending the server uses."""
    found = buffer.find(b"\n\n", start)
    if buffer.find(b"\r", start, found if found >= 0 else len(buffer)) < 0:
        # No carriage return before it (nearly every server): the LF blank line is the first one.
        return (found, 2) if found >= 0 else (-1, 0)
    best, size = -1, 0
    for separator in _SEPARATORS:
        found = buffer.find(separator, start)
        if found >= 0 and (best < 0 or found < best):
            best, size = found, len(separator)
    return best, size


async def capped_events(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """`chunks` as they come, until an event grows past `limit` bytes: then InvalidUpstreamResponse, before a
    parser holding it whole (or a client) has to take it."""
    pending = 0
    tail = b""
    async for chunk in chunks:
        # Searched from the end, and without copying the chunk: a blank line cut in two is found in the
        # few bytes around the seam.
        end = _last_boundary(chunk)
        if end < 0 and tail:
            seam = _last_boundary(tail + chunk[: _LONGEST - 1])
            end = seam - len(tail) if seam > len(tail) else -1
        pending = len(chunk) - end if end >= 0 else pending + len(chunk)
        if pending > limit:
            raise InvalidUpstreamResponse(f"upstream sent a stream event larger than {limit} bytes")
        tail = (tail + chunk)[-(_LONGEST - 1) :] if len(chunk) < _LONGEST - 1 else chunk[-(_LONGEST - 1) :]
        yield chunk


def _last_boundary(data: bytes) -> int:
    """Where the bytes after the last blank line in `data` start; -1 when it holds none."""
    found = data.rfind(b"\n\n")
    end = found + 2 if found >= 0 else -1
    if data.find(b"\r", max(end, 0)) >= 0:
        # Only a server using carriage returns can have a later blank line of another kind.
        for separator in _SEPARATORS[1:]:
            other = data.rfind(separator)
            if other >= 0:
                end = max(end, other + len(separator))
    return end


def _parse(block: bytes) -> Event | None:
    name = "message"
    data: list[str] = []
    for raw in block.decode("utf-8", errors="replace").splitlines():
        if not raw or raw.startswith(":"):
            continue
        field, _, value = raw.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    if not data:
        return None
    return Event(name, "\n".join(data))
