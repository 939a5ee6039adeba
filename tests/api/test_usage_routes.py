"""GET /v1/usage in memory: the JSON each model's counters are shown as."""

from __future__ import annotations

from api.api_support import usage_json
from keyproxy.usage.book import UsageKey
from keyproxy.usage.counters import UsageCounters

NOW = 1_700_000_000.0


def test_usage_adds_up_the_days_of_a_model_and_shows_sums_and_averages() -> None:
    first = UsageCounters(
        requests=3, successes=1, failures={"transient": 1, "rate_limited": 1}, prompt_tokens=100,
        completion_tokens=20, cached_tokens=10, reasoning_tokens=5, estimated=1, cost_usd=0.1234567,
        last_used=NOW, first_byte_sum=0.75, first_byte_count=2, seconds_sum=3.5,
    )  # fmt: skip
    second = UsageCounters(requests=1, successes=1, last_used=NOW + 9, seconds_sum=0.5)
    rows = [(UsageKey("2024-01-01", "p", "k", "m"), first), (UsageKey("2024-01-02", "p", "k", "m"), second)]

    body = usage_json(rows, b"since=2024-01-01")

    assert body == {
        "since": "2024-01-01",
        "until": None,
        "providers": {"p": {"keys": {"id:k": {"status": "unconfigured", "cooldowns": [], "models": {"m": {
            "requests": 4, "successes": 2, "failures": {"transient": 1, "rate_limited": 1},
            "prompt_tokens": 100, "completion_tokens": 20, "cached_tokens": 10, "reasoning_tokens": 5,
            "estimated_requests": 1, "cost_usd": 0.123457, "last_used": NOW + 9,
            "avg_first_byte_ms": 375.0, "avg_seconds": 1.0,
        }}}}}},
    }  # fmt: skip


def test_a_model_without_requests_shows_no_averages_and_no_last_use() -> None:
    body = usage_json([(UsageKey("2024-01-01", "p", "k", "m"), UsageCounters())])
    shown = body["providers"]["p"]["keys"]["id:k"]["models"]["m"]
    assert (shown["last_used"], shown["avg_first_byte_ms"], shown["avg_seconds"]) == (None, None, None)
    assert (shown["failures"], shown["cost_usd"]) == ({}, 0.0)
