"""The access log: one line per client request, refused ones too, written by the logging thread.

A finished request costs the event loop one append; its line is made with the others of the same tenth of
a second (or of the same `BATCH`), in one pass, and the lot handed to the logging thread (`logs.hand_over`).
Made one by one, as each request finished, the lines cost twice as much: a handful of calls per line
(stamp, memo, hand-over) where a pass over the batch makes them inline.
"""

from __future__ import annotations

import asyncio
from typing import Literal

import msgspec

from keyproxy.events import RequestRecord
from keyproxy.logs import Stamp, deferring, escape_control, hand_over, scrub, secrets_in_use

AccessLogFormat = Literal["text", "json"]

LOGGER = "keyproxy.access"

BATCH = 256
"""Requests gathered before their lines are made, whatever the time: a pass stays well under a millisecond."""


class AccessLog:
    """A request sink; `text` lines carry the log's usual prefix, `json` lines are one object each."""

    __slots__ = ("_lines", "_records", "every")

    def __init__(self, form: AccessLogFormat, every: float = 0.1) -> None:
        self._lines = JsonLines() if form == "json" else TextLines()
        self._records: list[RequestRecord] = []
        self.every = every

    def finished(self, record: RequestRecord) -> None:
        records = self._records
        records.append(record)
        if len(records) == 1:
            if deferring():
                asyncio.get_running_loop().call_later(self.every, self.flush)
            else:  # a test or a host application: logged at once, by the host's logging
                self.flush()
        elif len(records) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Make the lines of the requests gathered and hand them to the logging thread (a timer left
        pending finds nothing to do)."""
        records, self._records = self._records, []
        if records:
            hand_over(LOGGER, self._lines(records, deferring()), scrubbed=self._lines.scrubbed)

    async def stop(self) -> None:
        """At shutdown: the requests still gathered are logged."""
        self.flush()


def text_line(record: RequestRecord) -> str:
    """`client "METHOD path" status model= provider= key= attempts= ms= overhead_ms= tokens=in/out`."""
    if not record.provider:
        client = f"{record.client[0]}:{record.client[1]}" if record.client else "-"
        ms = record.seconds * 1000
        return f'{client} "{_shared(record)} provider=- key=- attempts=0 ms={ms:.2f} overhead_ms=- tokens=-'
    tokens = record.tokens
    return (
        f"{_served_head(record)} ms={record.seconds * 1000:.2f} overhead_ms={record.overhead_ms} "
        f"tokens={'-' if tokens is None else f'{tokens.prompt}/{tokens.completion}'}"
    )


def _served_head(record: RequestRecord) -> str:
    """A served request's line up to its attempts: what the requests of one connection share."""
    client = f"{record.client[0]}:{record.client[1]}" if record.client else "-"
    return f'{client} "{_shared(record)} provider={record.provider} key={record.key_mask} attempts={record.attempts}'


_SERVED = "%s%s ms=%.2f overhead_ms=%s tokens=%s/%s"  # %s for the token counts: cheaper than %d


class TextLines:
    """`text_line` of each record, with the log's usual prefix when `stamped`, at half the cost of calling
    it: the usual request's line (an upstream answered with token counts) is one `%` call; its part from the
    client to the attempts, which the requests of a connection share, made once and remembered (a few
    thousand at most: a client inventing paths or models, or opening a connection per request, only makes
    them again); the stamp made once a millisecond."""

    __slots__ = ("_secrets", "_shared", "_stamp")

    scrubbed = True
    """Every part of a line a client chose went through `_shared`."""

    def __init__(self) -> None:
        self._shared: dict[tuple[str, int, str, str, int, str, str, str, int], str] = {}
        self._stamp = Stamp(f" INFO {LOGGER}: ")
        self._secrets = secrets_in_use()

    def __call__(self, records: list[RequestRecord], stamped: bool) -> list[str]:
        if (secrets := secrets_in_use()) is not self._secrets:
            # A key added since: the parts remembered were scrubbed without it.
            self._secrets = secrets
            self._shared.clear()
        remembered, stamp = self._shared, self._stamp
        lines: list[str] = []
        prefix, since, until = "", 0.0, 0.0
        for record in records:
            if stamped and not since <= record.at < until:
                prefix, since, until = stamp.window(record.at)
            client, tokens = record.client, record.tokens
            if client is None or tokens is None or not record.provider:
                lines.append(prefix + text_line(record))
                continue
            key = (
                client[0], client[1], record.method, record.path, record.status, record.model, record.provider,
                record.key_mask, record.attempts,
            )  # fmt: skip
            shared = remembered.get(key)
            if shared is None:
                if len(remembered) >= 4096:
                    remembered.clear()
                shared = remembered[key] = _served_head(record)
            lines.append(
                _SERVED % (prefix, shared, record.seconds * 1000, record.overhead_ms, tokens.prompt, tokens.completion)
            )
        return lines


def _shared(record: RequestRecord) -> str:
    """`METHOD path" status model=`, what the client chose escaped (it cannot forge a line) and scrubbed of
    secrets here, where the part is made once for a run of lines, not in the logging thread for each."""
    return scrub(f'{record.method} {_safe(record.path)}" {record.status} model={_safe(record.model) or "-"}')


class _Entry(msgspec.Struct, gc=False):
    """A JSON line's fields, in order; absent values are null."""

    time: str
    client: str | None
    method: str
    path: str
    model: str | None
    status: int
    provider: str | None
    key: str | None
    attempts: int
    ms: float
    overhead_ms: float | None
    tokens_in: int | None
    tokens_out: int | None


class JsonLines:
    """Each record as one JSON object, the time in ISO 8601 (UTC); the batch encoded in one call."""

    __slots__ = ("_encoder", "_stamp")

    scrubbed = False
    """Left to the logging thread: the batch is searched once there, cheaper than each line's fields here."""

    def __init__(self) -> None:
        self._encoder = msgspec.json.Encoder()
        self._stamp = Stamp()

    def __call__(self, records: list[RequestRecord], stamped: bool) -> list[str]:
        entries = [json_entry(record, self._stamp) for record in records]
        return self._encoder.encode_lines(entries).decode()[:-1].split("\n")


def json_entry(record: RequestRecord, stamp: Stamp) -> _Entry:
    served = bool(record.provider)
    client, tokens, overhead = record.client, record.tokens, record.overhead
    return _Entry(
        stamp.iso(record.at),
        f"{client[0]}:{client[1]}" if client else None,
        record.method,
        _safe(record.path),
        _safe(record.model) or None,
        record.status,
        record.provider if served else None,
        record.key_mask if served else None,
        record.attempts,
        round(record.seconds * 1000, 2),
        round(overhead * 1000, 2) if overhead is not None else None,
        tokens.prompt if tokens is not None else None,
        tokens.completion if tokens is not None else None,
    )


def _safe(text: str) -> str:
    """What a client chose (a path, a model name) with its control characters escaped: it cannot forge a line."""
    return text if text.isprintable() else escape_control(text)
