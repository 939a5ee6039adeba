"""Provider rate-limit headers: how much of a key's allowance is left, and when it comes back.

Two families, each with one limit/remaining/reset triple per dimension (requests, tokens, ...):
`x-ratelimit-{limit,remaining,reset}[-<dimension>]` (OpenAI, Groq, Cerebras, OpenRouter and most
OpenAI-compatible servers) and `anthropic-ratelimit-<dimension>-{limit,remaining,reset}` (Anthropic).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

_OPENAI_PREFIX = "x-ratelimit-"
_ANTHROPIC_PREFIX = "anthropic-ratelimit-"
_FIELDS = frozenset({"limit", "remaining", "reset"})
_NUMBER = re.compile(r"\d+(?:\.\d*)?|\.\d+")
_DURATION = re.compile(r"(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
# A bare reset number this large is a point in time, not a delay: epoch milliseconds, then epoch seconds.
_EPOCH_MILLIS = 1e12
_EPOCH_SECONDS = 1e9


@dataclass(frozen=True, slots=True)
class Headroom:
    """What is left of a key's rate limit after an answer.

    `fraction` is remaining / limit of the scarcest dimension, in [0, 1] (None: no dimension gives
    both, and none says 0 remain); `reset_at` is when that dimension resets, in epoch seconds (`now`
    when unknown).
    """

    fraction: float | None
    reset_at: float


@dataclass(slots=True)
class _Dimension:
    """One dimension's values while the headers are read; missing or unreadable values stay None."""

    limit: float | None = None
    remaining: float | None = None
    reset_at: float | None = None

    def fraction(self) -> float | None:
        if self.remaining == 0.0:
            return 0.0
        if self.remaining is None or self.limit is None:
            return None
        if self.limit <= 0.0:
            return 0.0
        return min(1.0, self.remaining / self.limit)


def parse_headroom(headers: Mapping[str, str], now: float) -> Headroom | None:
    """The scarcest dimension's headroom; None when the response has no rate-limit headers at all.

    When dimensions tie (two at 0, say), the one that resets last wins: the key is short until then.
    """
    dimensions = _dimensions(headers.items(), now)
    if not dimensions:
        return None
    fraction: float | None = None
    reset_at = now
    for dimension in dimensions.values():
        share = dimension.fraction()
        if share is None:
            continue
        resets = dimension.reset_at if dimension.reset_at is not None else now
        if fraction is None or share < fraction or (share == fraction and resets > reset_at):
            fraction, reset_at = share, resets
    return Headroom(fraction, reset_at)


def reset_hint(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds until the exhausted dimension resets, for a 429 that came without Retry-After.

    Dimensions with 0 remaining decide (the latest of their resets); when none says 0, or none of
    those gives a reset, the latest known reset. None without any reset header; never negative.
    """
    dimensions = _dimensions(headers.items(), now).values()
    exhausted = [d.reset_at for d in dimensions if d.remaining == 0.0 and d.reset_at is not None]
    known = exhausted or [d.reset_at for d in dimensions if d.reset_at is not None]
    if not known:
        return None
    return max(0.0, max(known) - now)


def parse_duration(text: str) -> float | None:
    """Seconds in a Go-style duration ("1s", "6m0s", "1h2m3.5s", "20ms") or a bare number of seconds.

    None for anything else, including negative durations.
    """
    text = text.strip()
    if _NUMBER.fullmatch(text):
        return _finite(float(text))
    if not _DURATION.fullmatch(text):
        return None
    return _finite(sum(float(amount) * _UNIT_SECONDS[unit] for amount, unit in _DURATION_PART.findall(text)))


def _dimensions(items: Iterable[tuple[str, str]], now: float) -> dict[str, _Dimension]:
    dimensions: dict[str, _Dimension] = {}
    for name, value in items:
        lowered = name.lower()
        if lowered.startswith(_OPENAI_PREFIX):
            field, _, dimension = lowered[len(_OPENAI_PREFIX) :].partition("-")
            key = "x:" + dimension
        elif lowered.startswith(_ANTHROPIC_PREFIX):
            dimension, _, field = lowered[len(_ANTHROPIC_PREFIX) :].rpartition("-")
            key = "anthropic:" + dimension
        else:
            continue
        if field not in _FIELDS:
            continue
        entry = dimensions.setdefault(key, _Dimension())
        if field == "reset":
            entry.reset_at = _reset_at(value, now)
        else:
            number = _decimal(value)
            if field == "limit":
                entry.limit = number
            else:
                entry.remaining = number
    return dimensions


def _reset_at(text: str, now: float) -> float | None:
    """A reset as epoch seconds: from a delay ("6m0s", "12"), epoch seconds or milliseconds, or RFC 3339."""
    number = _decimal(text)
    if number is not None:
        if number > _EPOCH_MILLIS:
            return number / 1000.0
        if number > _EPOCH_SECONDS:
            return number
        return now + number
    seconds = parse_duration(text)
    if seconds is not None:
        return now + seconds
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _decimal(text: str) -> float | None:
    text = text.strip()
    return _finite(float(text)) if _NUMBER.fullmatch(text) else None


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
