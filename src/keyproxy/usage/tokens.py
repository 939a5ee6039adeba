"""Token counts read from an upstream's answer: a whole JSON body, a usage object, or a relayed SSE stream."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from keyproxy.events import Tokens

_FIELDS = (
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    # DeepSeek's own name for cached prompt tokens, next to (or instead of) cached_tokens.
    "prompt_cache_hit_tokens",
)
_FIELD = re.compile(rb'"(' + b"|".join(name.encode() for name in _FIELDS) + rb')"\s*:\s*(\d+)')
_MARK = b'"usage"'
_EDGE = len(_MARK) - 1
_NULLS = (b":null", b": null")
_TAIL = 256
"""Bytes of the past kept while reading usage, enough for any one field cut in two by a chunk boundary."""
_FOLLOW = 1024
"""Bytes after a usage mark still scanned: a usage object is small, but may arrive in several chunks."""


def tokens_from_usage(usage: Mapping[str, Any]) -> Tokens | None:
    """Tokens from an OpenAI or Anthropic `usage` object; None when it is neither shape."""
    if not isinstance(usage, Mapping):
        return None
    fields: dict[str, int] = {}
    _read_usage(fields, usage)
    return _tokens(fields)


_WANTED = frozenset(_FIELDS)
# OpenAI chat nests these; the Responses API nests the same counts under input_/output_ names.
_NESTED = {
    "prompt_tokens_details": "cached_tokens",
    "input_tokens_details": "cached_tokens",
    "completion_tokens_details": "reasoning_tokens",
    "output_tokens_details": "reasoning_tokens",
}


def _read_usage(fields: dict[str, int], usage: Mapping[str, Any]) -> None:
    # The usage object's few members are walked, rather than every name asked for: most are absent.
    for name, value in usage.items():
        if name in _WANTED:
            _put(fields, name, value)
        elif (inner := _NESTED.get(name)) is not None and isinstance(value, Mapping):
            _put(fields, inner, value.get(inner))


class _Answer(msgspec.Struct, gc=False):
    # Only `usage` is decoded into Python objects; msgspec skips everything else without building it.
    usage: dict[str, Any] | None = None


_answer = msgspec.json.Decoder(_Answer)


def tokens_from_body(body: bytes) -> Tokens | None:
    """Tokens from the `usage` of a whole JSON answer (chat completion, embeddings list, Anthropic message)."""
    try:
        answer = _answer.decode(body)
    except (ValueError, RecursionError):
        # Not JSON, not UTF-8, or nested deeper than the decoder goes: an answer with no usage to read.
        return None
    return tokens_from_usage(answer.usage) if answer.usage is not None else None


class UsageMeter:
    """Reads token counts from a relayed SSE stream as it passes, without buffering it.

    Each count keeps the largest value seen: OpenAI sends usage once at the end, Anthropic sends the
    input counts in message_start and the output count in message_delta, and the maximum combines both.
    """

    __slots__ = ("_fields", "_follow", "_tail")

    def __init__(self) -> None:
        self._fields: dict[str, int] = {}
        self._tail = b""
        self._follow = 0

    def observe(self, chunk: bytes) -> None:
        """Look at one relayed chunk; a substring search or two unless usage is in or just before it."""
        tail = self._tail
        at = chunk.find(_MARK)
        # A mark that begins in the tail (cut in two, or whole there) is found in the tail and the chunk's start.
        seam = (tail + chunk[:_EDGE]).find(_MARK)
        if self._follow > 0 or at >= 0 or seam >= 0:
            window = tail + chunk
            self._tail = window[-_TAIL:]
            self._scan(window, len(chunk), seam if seam >= 0 or at < 0 else len(tail) + at)
        else:
            # Away from usage, only enough of the past is kept to find a mark cut in two.
            self._tail = chunk[-_EDGE:] if len(chunk) >= _EDGE else (tail + chunk)[-_EDGE:]

    def _scan(self, window: bytes, fresh: int, first: int) -> None:
        """`first`: where the window's first mark begins (-1 for none), which the caller's search has found."""
        mark = window.rfind(_MARK)
        # OpenAI sends `"usage":null` in every chunk before the last when the client asked for usage.
        while mark >= 0 and window.startswith(_NULLS, mark + len(_MARK)):
            mark = window.rfind(_MARK, 0, mark)
        if mark >= 0:
            self._follow = _FOLLOW - (len(window) - mark)
            # Counts follow a mark, so a big chunk is read from its first real usage, not from its start.
            while window.startswith(_NULLS, first + len(_MARK)):
                first = window.find(_MARK, first + 1)
            window = window[first:]
        elif self._follow > 0:
            self._follow -= fresh
        else:
            return
        fields = self._fields
        # A number cut by a chunk boundary is read short first and whole next time: the maximum keeps it whole.
        for match in _FIELD.finditer(window):
            name, value = match.group(1).decode(), int(match.group(2))
            if value > fields.get(name, -1):
                fields[name] = value

    def record(self, usage: Mapping[str, Any]) -> None:
        """A usage object the stream carried but did not relay (a translator kept it from a client that did not
        ask for usage); combined with what was seen by the same largest-value rule."""
        if isinstance(usage, Mapping):
            _read_usage(self._fields, usage)

    def tokens(self) -> Tokens | None:
        """What the stream reported, by the same rules as tokens_from_usage; None if it reported nothing."""
        return _tokens(self._fields)


def estimate(request_bytes: int, answer_bytes: int) -> Tokens:
    """A rough count for an answer whose upstream reported none: about four bytes a token each way.

    JSON syntax, SSE framing and the request's parameters are counted as if they were text, so this
    over-estimates, which is the safer side for budgets.
    """
    return Tokens(prompt=_quarter(request_bytes), completion=_quarter(answer_bytes), estimated=True)


def _quarter(size: int) -> int:
    return -(-max(size, 0) // 4)


def _put(fields: dict[str, int], name: str, value: object) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        fields[name] = max(value, fields.get(name, 0))


def _tokens(fields: Mapping[str, int]) -> Tokens | None:
    get = fields.get
    if "prompt_tokens" in fields or "completion_tokens" in fields:
        # OpenAI: the prompt count already includes cached tokens; reasoning is inside the completion count.
        return Tokens(
            prompt=get("prompt_tokens", 0),
            completion=get("completion_tokens", 0),
            cached=get("cached_tokens", get("prompt_cache_hit_tokens", 0)),
            reasoning=get("reasoning_tokens", 0),
        )
    if "input_tokens" in fields or "output_tokens" in fields:
        # Anthropic counts cache reads and writes apart from input_tokens; the prompt is all three.
        cache_read = get("cache_read_input_tokens", 0)
        return Tokens(
            prompt=get("input_tokens", 0) + cache_read + get("cache_creation_input_tokens", 0),
            completion=get("output_tokens", 0),
            cached=cache_read or get("cached_tokens", 0),
            reasoning=get("reasoning_tokens", 0),
        )
    return None
