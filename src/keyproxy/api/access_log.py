"""The access log: one line per client request, refused ones too, made and written by the logging thread.

The event loop only gathers what each finished request's line will say (`logs.DeferredLines`); the
lines are made and written on the logging thread, several at a time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

import msgspec

from keyproxy.events import RequestRecord
from keyproxy.logs import DeferredLines, escape_control

AccessLogFormat = Literal["text", "json"]

LOGGER = "keyproxy.access"


class Entry(NamedTuple):
    """What a line says about a request, only strings and numbers: a tuple of them the garbage collector
    stops looking at, however long it waits for the logging thread."""

    at: float
    client: tuple[str, int] | None
    method: str
    path: str
    model: str
    status: int
    provider: str
    key: str
    attempts: int
    seconds: float
    overhead: float | None
    tokens_in: int | None
    tokens_out: int | None


class AccessLog:
    """A request sink; `text` lines carry the log's usual prefix, `json` lines are one object each."""

    __slots__ = ("_lines",)

    def __init__(self, form: AccessLogFormat) -> None:
        if form == "json":
            self._lines = DeferredLines(LOGGER, json_line, bare=True)
        else:
            self._lines = DeferredLines(LOGGER, text_line)

    def finished(self, record: RequestRecord) -> None:
        tokens = record.tokens
        self._lines.add(
            Entry(
                record.at, record.client, record.method, record.path, record.model, record.status, record.provider,
                record.key_mask, record.attempts, record.seconds, record.overhead,
                tokens.prompt if tokens is not None else None, tokens.completion if tokens is not None else None,
            )
        )  # fmt: skip

    async def stop(self) -> None:
        """At shutdown: the lines still gathered go to the logging thread."""
        self._lines.flush()


def text_line(entry: Entry) -> str:
    """`client "METHOD path" status model= provider= key= attempts= ms= overhead_ms= tokens=in/out`."""
    client = entry.client
    address = f"{client[0]}:{client[1]}" if client else "-"
    head = f'{address} "{entry.method} {_safe(entry.path)}" {entry.status} model={_safe(entry.model) or "-"}'
    if not entry.provider:
        return f"{head} provider=- key=- attempts=0 ms={entry.seconds * 1000:.2f} overhead_ms=- tokens=-"
    used = f"{entry.tokens_in}/{entry.tokens_out}" if entry.tokens_in is not None else "-"
    overhead = entry.overhead
    return (
        f"{head} provider={entry.provider} key={entry.key} attempts={entry.attempts} "
        f"ms={entry.seconds * 1000:.2f} overhead_ms={'-' if overhead is None else f'{overhead * 1000:.2f}'} "
        f"tokens={used}"
    )


def json_line(entry: Entry) -> str:
    """The same fields as a JSON object, with the time in ISO 8601 (UTC); absent values are null."""
    served = bool(entry.provider)
    client = entry.client
    fields: dict[str, Any] = {
        "time": datetime.fromtimestamp(entry.at, UTC).isoformat(timespec="milliseconds"),
        "client": f"{client[0]}:{client[1]}" if client else None,
        "method": entry.method,
        "path": _safe(entry.path),
        "model": _safe(entry.model) or None,
        "status": entry.status,
        "provider": entry.provider if served else None,
        "key": entry.key if served else None,
        "attempts": entry.attempts,
        "ms": round(entry.seconds * 1000, 2),
        "overhead_ms": round(entry.overhead * 1000, 2) if entry.overhead is not None else None,
        "tokens_in": entry.tokens_in,
        "tokens_out": entry.tokens_out,
    }
    return msgspec.json.encode(fields).decode()


def _safe(text: str) -> str:
    """What a client chose (a path, a model name) with its control characters escaped: it cannot forge a line."""
    return text if text.isprintable() else escape_control(text)
