"""Google RPC error details (RetryInfo, QuotaFailure, ErrorInfo) in Gemini's RESOURCE_EXHAUSTED answers."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keyproxy.providers.hints.ratelimit_headers import parse_duration

_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"


@dataclass(frozen=True, slots=True)
class GoogleQuota:
    """`retry_after`: seconds from RetryInfo's `retryDelay`. `daily`: a violated quota is per day, so
    waiting out a minute will not help."""

    retry_after: float | None
    daily: bool


def parse_google_error(error: Mapping[str, Any]) -> GoogleQuota | None:
    """What the `details` of a Google error say about retrying; None when they say nothing usable.

    `error` is the inner `{"code", "message", "status", "details": [...]}` object (a whole body
    `{"error": {...}}` is unwrapped). A per-day quota is named by a QuotaFailure violation's
    `quotaId` ("GenerateRequestsPerDayPerProjectPerModel-FreeTier") or `quotaMetric`, or by an
    ErrorInfo's `quota_limit` metadata, or by Code Assist's QUOTA_EXHAUSTED reason (its `quotaResetDelay`
    says when it resets).
    """
    inner = error.get("error")
    if isinstance(inner, Mapping) and "details" not in error:
        error = inner
    details = error.get("details")
    if not isinstance(details, list):
        return None
    retry_after: float | None = None
    daily = False
    for detail in details:
        if not isinstance(detail, Mapping):
            continue
        kind = detail.get("@type")
        if kind == _RETRY_INFO:
            delay = _delay(detail.get("retryDelay"))
            if delay is not None and (retry_after is None or delay > retry_after):
                retry_after = delay
        elif kind == _QUOTA_FAILURE:
            violations = detail.get("violations")
            if isinstance(violations, list):
                daily = daily or any(_names_a_day(v) for v in violations if isinstance(v, Mapping))
        elif kind == _ERROR_INFO:
            metadata = detail.get("metadata")
            # Code Assist (Gemini CLI accounts) says QUOTA_EXHAUSTED until the quota resets, and when in
            # `quotaResetDelay`; RATE_LIMIT_EXCEEDED passes within the minute.
            daily = daily or detail.get("reason") == "QUOTA_EXHAUSTED"
            if isinstance(metadata, Mapping):
                daily = daily or _per_day(metadata.get("quota_limit"))
                delay = _delay(metadata.get("quotaResetDelay"))
                if delay is not None and (retry_after is None or delay > retry_after):
                    retry_after = delay
    if retry_after is None and not daily:
        return None
    return GoogleQuota(retry_after, daily)


def _delay(value: object) -> float | None:
    """A protobuf Duration: JSON gives "34s" or "0.5s"; some encoders give {"seconds", "nanos"}."""
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, Mapping):
        seconds, nanos = value.get("seconds", 0), value.get("nanos", 0)
        if isinstance(seconds, (int, float, str)) and isinstance(nanos, (int, float)):
            try:
                total = float(seconds) + float(nanos) / 1e9
            except ValueError:
                return None
            return total if math.isfinite(total) and total >= 0 else None
    return None


def _names_a_day(violation: Mapping[str, Any]) -> bool:
    return _per_day(violation.get("quotaId")) or _per_day(violation.get("quotaMetric"))


def _per_day(name: object) -> bool:
    if not isinstance(name, str):
        return False
    lowered = name.lower()
    return "perday" in lowered or "per_day" in lowered or "per day" in lowered
