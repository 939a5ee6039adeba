"""The access log: one line per client request, refused ones too, made and written by the logging thread.

The event loop only gathers the finished `RequestRecord`s (`logs.DeferredLines`); the lines are made
and written on the logging thread, several at a time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from keyproxy.events import RequestRecord
from keyproxy.logs import DeferredLines, escape_control

AccessLogFormat = Literal["text", "json"]

LOGGER = "keyproxy.access"


class AccessLog:
    """A request sink; `text` lines carry the log's usual prefix, `json` lines are one object each."""

    __slots__ = ("_lines",)

    def __init__(self, form: AccessLogFormat) -> None:
        if form == "json":
            self._lines = DeferredLines(LOGGER, json_line, bare=True)
        else:
            self._lines = DeferredLines(LOGGER, text_line)

    def finished(self, record: RequestRecord) -> None:
        self._lines.add(record)

    async def stop(self) -> None:
        """At shutdown: the lines still gathered go to the logging thread."""
        self._lines.flush()


def text_line(record: RequestRecord) -> str:
    """`client "METHOD path" status model= provider= key= attempts= ms= overhead_ms= tokens=in/out`."""
    client = record.client
    address = f"{client[0]}:{client[1]}" if client else "-"
    head = f'{address} "{record.method} {_safe(record.path)}" {record.status} model={_safe(record.model) or "-"}'
    if not record.provider:
        return f"{head} provider=- key=- attempts=0 ms={record.seconds * 1000:.2f} overhead_ms=- tokens=-"
    tokens = record.tokens
    used = f"{tokens.prompt}/{tokens.completion}" if tokens is not None else "-"
    overhead = record.overhead
    return (
        f"{head} provider={record.provider} key={record.key_mask} attempts={record.attempts} "
        f"ms={record.seconds * 1000:.2f} overhead_ms={'-' if overhead is None else f'{overhead * 1000:.2f}'} "
        f"tokens={used}"
    )


def json_line(record: RequestRecord) -> str:
    """The same fields as a JSON object, with the time in ISO 8601 (UTC); absent values are null."""
    served = bool(record.provider)
    tokens = record.tokens
    overhead = record.overhead
    client = record.client
    fields: dict[str, Any] = {
        "time": datetime.fromtimestamp(record.at, UTC).isoformat(timespec="milliseconds"),
        "client": f"{client[0]}:{client[1]}" if client else None,
        "method": record.method,
        "path": _safe(record.path),
        "model": _safe(record.model) or None,
        "status": record.status,
        "provider": record.provider if served else None,
        "key": record.key_mask if served else None,
        "attempts": record.attempts,
        "ms": round(record.seconds * 1000, 2),
        "overhead_ms": round(overhead * 1000, 2) if overhead is not None else None,
        "tokens_in": tokens.prompt if tokens is not None else None,
        "tokens_out": tokens.completion if tokens is not None else None,
    }
    return msgspec.json.encode(fields).decode()


def _safe(text: str) -> str:
    """What a client chose (a path, a model name) with its control characters escaped: it cannot forge a line."""
    return text if text.isprintable() else escape_control(text)
