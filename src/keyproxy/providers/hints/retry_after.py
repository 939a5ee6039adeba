"""The one Retry-After parser: `retry-after-ms`, `Retry-After` in seconds or as an HTTP date."""

from __future__ import annotations

import email.utils
import math
from collections.abc import Mapping


def parse_retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait, or None when the response gave no usable hint. Never negative."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        seconds = _number(millis)
        if seconds is not None:
            return seconds / 1000.0
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None
