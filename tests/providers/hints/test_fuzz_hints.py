"""What upstreams say about waiting, in any words: a hint (never negative, never infinite) or none."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from fuzz_support import shaped
from keyproxy.providers.hints.google_errors import parse_google_error
from keyproxy.providers.hints.ratelimit_headers import parse_duration, parse_headroom, reset_hint
from keyproxy.providers.hints.retry_after import parse_retry_after

VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["1e400", "-1", "nan", "inf", "12ms", "1h2m3.5s", "0.5s", "Wed, 21 Oct 2015 07:28:00 GMT",
                     "Mon, 01 Jan 99999 00:00:00 GMT", "2099-01-01T00:00:00Z", "99999999999999999999", "1" * 400]),
)  # fmt: skip
NAMES = st.sampled_from([
    "retry-after", "retry-after-ms", "x-ratelimit-remaining-requests", "x-ratelimit-limit-requests",
    "x-ratelimit-reset-requests", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens",
    "anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-requests-limit",
    "anthropic-ratelimit-requests-reset", "ratelimit-remaining", "ratelimit-reset", "x-other",
])  # fmt: skip
GOOGLE = {
    "code": 429,
    "status": "RESOURCE_EXHAUSTED",
    "details": [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34s"},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": {"seconds": 3, "nanos": 5}},
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
         "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier", "quotaMetric": "m"}]},
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "metadata": {"quota_limit": "PerDay"}},
    ],
}  # fmt: skip


def a_wait(value: float | None) -> bool:
    return value is None or (math.isfinite(value) and value >= 0)


@given(st.dictionaries(NAMES, VALUES), st.floats(0, 4e9))
def test_headers_give_a_usable_wait_or_none(headers: dict[str, str], now: float) -> None:
    assert a_wait(parse_retry_after(headers, now))
    assert a_wait(reset_hint(headers, now))
    headroom = parse_headroom(headers, now)
    assert headroom is None or headroom.fraction is None or 0 <= headroom.fraction <= 1


@given(VALUES)
def test_a_duration_is_seconds_or_none(text: str) -> None:
    assert a_wait(parse_duration(text))


@given(shaped([GOOGLE, {"error": GOOGLE}]))
def test_google_error_details_give_a_usable_hint_or_none(error: Any) -> None:
    if isinstance(error, dict):
        quota = parse_google_error(error)
        assert quota is None or a_wait(quota.retry_after)
