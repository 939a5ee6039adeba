"""Server-sent events, incrementally: bytes in any pieces go in, whole events come out."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    event: str
    """The `event:` field; "message" when the stream names none."""
    data: str
    """The `data:` lines joined with newlines."""


class SSEParser:
    """Feeds on raw stream bytes; events split across pieces are held until their blank line arrives."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[Event]:
        buffer = self._buffer + chunk
        events: list[Event] = []
        while True:
            cut, size = _boundary(buffer)
            if cut < 0:
                break
            block, buffer = buffer[:cut], buffer[cut + size :]
            event = _parse(block)
            if event is not None:
                events.append(event)
        self._buffer = buffer
        return events

    @property
    def pending(self) -> bool:
        """Whether bytes of an unfinished event are held (a stream that ends here was cut mid-event)."""
        return bool(self._buffer.strip())


def encode(data: str, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data}\n\n".encode()


def _boundary(buffer: bytes) -> tuple[int, int]:
    """The first blank line, whichever line ending the server uses."""
    best, size = -1, 0
    for separator in (b"\n\n", b"\r\n\r\n", b"\r\r"):
        found = buffer.find(separator)
        if found >= 0 and (best < 0 or found < best):
            best, size = found, len(separator)
    return best, size


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
