"""The access log: one line per client request, refused ones too, written by the logging thread.

Each line is made on the event loop when its request finishes (a few microseconds) and handed to the
logging thread with the others of the same tenth of a second (`logs.DeferredLines`).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from keyproxy.events import RequestRecord
from keyproxy.logs import DeferredLines, Stamp, escape_control

AccessLogFormat = Literal["text", "json"]

LOGGER = "keyproxy.access"


class AccessLog:
    """A request sink; `text` lines carry the log's usual prefix, `json` lines are one object each."""

    __slots__ = ("_json", "_lines", "_stamp", "_text")

    def __init__(self, form: AccessLogFormat) -> None:
        self._json = form == "json"
        self._lines = DeferredLines(LOGGER, bare=self._json)
        self._stamp = Stamp()
        self._text = TextLines()

    def finished(self, record: RequestRecord) -> None:
        self._lines.add(record.at, json_line(record, self._stamp) if self._json else self._text(record))

    async def stop(self) -> None:
        """At shutdown: the lines still gathered go to the logging thread."""
        self._lines.flush()


def text_line(record: RequestRecord) -> str:
    """`client "METHOD path" status model= provider= key= attempts= ms= overhead_ms= tokens=in/out`."""
    client, tokens, overhead = record.client, record.tokens, record.overhead
    head = f'{f"{client[0]}:{client[1]}" if client else "-"} "{_shared(record)}'
    if not record.provider:
        return f"{head} provider=- key=- attempts=0 ms={record.seconds * 1000:.2f} overhead_ms=- tokens=-"
    return (
        f"{head} provider={record.provider} key={record.key_mask} attempts={record.attempts} "
        f"ms={record.seconds * 1000:.2f} overhead_ms={'-' if overhead is None else f'{overhead * 1000:.2f}'} "
        f"tokens={'-' if tokens is None else f'{tokens.prompt}/{tokens.completion}'}"
    )


_SERVED = '%s:%d "%s ms=%.2f overhead_ms=%.2f tokens=%d/%d'


class TextLines:
    """`text_line` at about half its cost for the usual request (an upstream answered with token counts):
    the part from the method to the attempts, which a run of requests shares, is made once and remembered
    (a few hundred at most: a client inventing paths or models only makes them again), and the rest is one
    `%` call, cheaper than an f-string of the same fields."""

    __slots__ = ("_shared",)

    def __init__(self) -> None:
        self._shared: dict[tuple[str, str, int, str, str, str, int], str] = {}

    def __call__(self, record: RequestRecord) -> str:
        client, tokens, answered = record.client, record.tokens, record.answered
        if client is None or tokens is None or not answered or not record.provider:
            return text_line(record)
        provider, key_mask, attempts = record.provider, record.key_mask, record.attempts
        key = (record.method, record.path, record.status, record.model, provider, key_mask, attempts)
        shared = self._shared.get(key)
        if shared is None:
            if len(self._shared) >= 512:
                self._shared.clear()
            shared = self._shared[key] = (
                f"{_shared(record)} provider={provider} key={key_mask} attempts={attempts}"
            )
        overhead = answered - record.started - record.upstream_seconds
        return _SERVED % (
            client[0], client[1], shared, record.seconds * 1000, overhead * 1000 if overhead > 0 else 0.0,
            tokens.prompt, tokens.completion,
        )  # fmt: skip


def _shared(record: RequestRecord) -> str:
    """`METHOD path" status model=`, what the client chose escaped: it cannot forge a line."""
    return f'{record.method} {_safe(record.path)}" {record.status} model={_safe(record.model) or "-"}'


def json_line(record: RequestRecord, stamp: Stamp) -> str:
    """The same fields as a JSON object, with the time in ISO 8601 (UTC); absent values are null."""
    served = bool(record.provider)
    client, tokens, overhead = record.client, record.tokens, record.overhead
    return msgspec.json.encode(
        {
            "time": stamp.iso(record.at),
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
    ).decode()


def _safe(text: str) -> str:
    """What a client chose (a path, a model name) with its control characters escaped: it cannot forge a line."""
    return text if text.isprintable() else escape_control(text)
