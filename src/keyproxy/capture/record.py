"""An ended exchange as one JSON line: headers redacted, URLs masked, every key scrubbed from everything.

Runs on the writer's thread. Bodies were cut at the capture size as they passed, so a key may straddle
the cut or the boundary of two stream chunks: a piece ending in what could be the start of a key keeps
that tail back for the next piece, and the very end of a cut body is dropped (`Cleaner`).
"""

from __future__ import annotations

import base64
import codecs
import re
import time
from collections.abc import Iterable
from typing import Any

import msgspec

from keyproxy.capture.exchange import Body, Exchange, Headers, UpstreamCall
from keyproxy.events import AttemptEvent
from keyproxy.redact import forms, scrub, scrub_text, shown_url

REDACTED = "[redacted]"
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "x-goog-api-key", "api-key", "cookie", "set-cookie"}
)
_UNICODE = re.compile(r"\\u([0-9a-fA-F]{4})")


class Cleaner:
    """Scrubs a set of secrets from text and from bodies cut anywhere."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = tuple(dict.fromkeys(secret for secret in secrets if len(secret) >= 4))
        texts = sorted({form for secret in self.secrets for form in forms(secret)}, key=len, reverse=True)
        spellings = [form.encode() for form in texts]
        # One search finds whether any spelling is there at all, which it rarely is; scrubbing only then.
        self._text_pattern = re.compile("|".join(map(re.escape, texts))) if texts else None
        self._bytes_pattern = re.compile(b"|".join(map(re.escape, spellings))) if texts else None
        self._prefixes = frozenset(form[:n] for form in spellings for n in range(1, len(form)))
        self._longest = max((len(form) for form in spellings), default=0)

    def text(self, value: str) -> str:
        if self._text_pattern is None or not self._text_pattern.search(value):
            return value
        return scrub_text(value, self.secrets)

    def scrub(self, data: bytes) -> bytes:
        if self._bytes_pattern is None or (b"\\u" not in data and not self._bytes_pattern.search(data)):
            return data
        return scrub(data, self.secrets)

    def pieces(self, parts: list[bytes], *, cut: bool) -> list[bytes]:
        """`parts` scrubbed; a key split between two parts is found whole. With `cut` (the body went on past
        what was kept) a last tail that may begin a key is dropped."""
        if not self.secrets:
            return parts
        joined = b"".join(parts)
        if b"\\u" in joined:
            unescaped = self._unescaped(joined)
            if unescaped is not None:
                parts = [unescaped]
        if len(parts) > 1 and self.scrub(joined) == joined:
            # No key anywhere, the usual case: the pieces stay as they are, found in one pass.
            return self._cut_tail(parts) if cut else parts
        cleaned: list[bytes] = []
        carry = b""
        for part in parts:
            data = self.scrub(carry + part)
            keep = len(data) - self._partial_tail(data)
            cleaned.append(data[:keep])
            carry = data[keep:]
        if carry and not cut:
            cleaned.append(carry)
        return cleaned

    def _cut_tail(self, parts: list[bytes]) -> list[bytes]:
        last = parts[-1]
        return [*parts[:-1], last[: len(last) - self._partial_tail(last)]]

    def _partial_tail(self, data: bytes) -> int:
        """How many bytes at the end of `data` could be the beginning of a secret."""
        start = max(0, len(data) - self._longest + 1)
        for index in range(start, len(data)):
            if data[index:] in self._prefixes:
                return len(data) - index
        return 0

    def _unescaped(self, data: bytes) -> bytes | None:
        """A body (maybe cut, so no JSON decoder reads it) spelling a key with `\\uXXXX` escapes: its escapes
        decoded and the key masked; None when no key is spelled so."""
        text = scrub_text(data.decode("utf-8", "replace"), self.secrets)
        plain = _UNICODE.sub(lambda found: chr(int(found.group(1), 16)), text)
        cleaned = scrub_text(plain, self.secrets)
        return None if cleaned == plain else cleaned.encode("utf-8", "replace")


def encode(exchange: Exchange, cleaner: Cleaner) -> bytes:
    record = {
        "id": exchange.id,
        "time": _iso(exchange.started),
        "seconds": round(exchange.seconds, 6),
        "failed": exchange.failed,
        "client": exchange.client,
        "request": {
            "method": exchange.method,
            "path": cleaner.text(_shown_path(exchange.path, exchange.query)),
            "headers": headers(exchange.request_headers, cleaner),
            "body": body(exchange.request, cleaner, chunked=False),
        },
        "upstream": [_call(call, cleaner) for call in exchange.calls],
        "attempts": [_attempt(event, cleaner) for event in exchange.attempts],
        "response": {
            "status": exchange.status,
            "headers": headers(exchange.answer_headers, cleaner),
            "body": body(exchange.answer, cleaner, chunked=_is_stream(exchange.answer_headers)),
            "complete": exchange.complete,
        },
    }
    return msgspec.json.encode(record) + b"\n"


def headers(pairs: Headers, cleaner: Cleaner) -> list[tuple[str, str]]:
    shown = []
    for raw_name, raw_value in pairs:
        name, value = _text(raw_name), _text(raw_value)
        shown.append((name, REDACTED if name.lower() in SECRET_HEADERS else cleaner.text(value)))
    return shown


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _is_stream(pairs: Headers) -> bool:
    return any(
        _text(name).lower() == "content-type" and _text(value).startswith("text/event-stream") for name, value in pairs
    )


def body(captured: Body, cleaner: Cleaner, *, chunked: bool) -> dict[str, Any]:
    """`text` (or `chunks` of a stream) when the bytes are UTF-8, else `base64`; `bytes` the whole size."""
    shown: dict[str, Any] = {"bytes": captured.seen}
    if captured.truncated:
        shown["truncated"] = True
    if not captured.parts:
        return shown
    pieces = cleaner.pieces(captured.parts, cut=captured.truncated)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        texts = [decoder.decode(piece) for piece in pieces]
    except UnicodeDecodeError:
        shown["base64"] = base64.b64encode(b"".join(pieces)).decode()
        return shown
    if chunked:
        shown["chunks"] = [text for text in texts if text]
    else:
        shown["text"] = "".join(texts)
    return shown


def _call(call: UpstreamCall, cleaner: Cleaner) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "method": call.method,
        "url": cleaner.text(shown_url(call.url)),
        "headers": headers(call.headers, cleaner),
        "body": body(call.body, cleaner, chunked=False),
        "status": call.status,
    }
    if call.proxy is not None:
        shown["proxy"] = cleaner.text(shown_url(call.proxy))
    if call.status is not None:
        shown["response_headers"] = headers(call.response_headers, cleaner)
        shown["response"] = body(call.answer, cleaner, chunked=call.streamed)
    if call.error is not None:
        shown["error"] = cleaner.text(call.error)
    return shown


def _attempt(event: AttemptEvent, cleaner: Cleaner) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "provider": event.provider,
        "model": event.model,
        "key": event.key_mask,
        "attempt": event.attempt,
        "status": event.status,
        "error_class": event.outcome.value if event.outcome is not None else None,
        "message": cleaner.text(event.message),
        "seconds": round(event.seconds, 6),
    }
    if event.tokens is not None:
        shown["tokens"] = {"prompt": event.tokens.prompt, "completion": event.tokens.completion}
    return shown


def _shown_path(path: str, query: bytes) -> str:
    if not query:
        return path
    return shown_url(f"{path}?{query.decode('latin-1')}")


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1000):03d}Z"
