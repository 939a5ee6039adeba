"""The usage counters declared once: flat counts for the stores, adding up, copying, the report's shape."""

from __future__ import annotations

from keyproxy.usage.counters import FLAT_COUNTERS, Merge, UsageCounters, report
from usage.usage_support import every_counter_set

NOW = 1_700_000_000.0


def test_every_declared_counter_survives_flat_counts_and_back() -> None:
    counters = every_counter_set()
    assert UsageCounters.from_flat(counters.flat()) == counters
    assert list(counters.flat()) == [counter.name for counter in FLAT_COUNTERS]


def test_failures_are_flat_counts_named_after_their_error_class() -> None:
    flat = UsageCounters(failures={"transient": 2}).flat()
    assert (flat["failed_transient"], flat["failed_rate_limited"]) == (2, 0)


def test_flat_counts_read_from_strings_take_their_declared_types_and_drop_zero_failures() -> None:
    fields = {"requests": "3", "cost_usd": "0.25", "failed_transient": "2", "failed_key_rejected": "0"}
    counters = UsageCounters.from_flat(fields)
    assert (counters.requests, counters.cost_usd, counters.failures) == (3, 0.25, {"transient": 2})
    assert type(counters.requests) is int


def test_adding_sums_every_counter_except_the_latest_time() -> None:
    counters = every_counter_set()
    total = counters.copy()
    total.add(counters)
    flat, added = counters.flat(), total.flat()
    for counter in FLAT_COUNTERS:
        expected = flat[counter.name] * (2 if counter.merge is Merge.SUM else 1)
        assert added[counter.name] == expected, counter.name


def test_a_copy_does_not_share_its_failures() -> None:
    counters = UsageCounters(failures={"transient": 1})
    copied = counters.copy()
    copied.add(UsageCounters(failures={"transient": 1}))
    assert counters.failures == {"transient": 1}


def test_the_report_shows_shown_counters_under_their_report_names_then_the_averages() -> None:
    assert list(report(UsageCounters())) == [
        "requests", "successes", "failures", "prompt_tokens", "completion_tokens", "cached_tokens",
        "reasoning_tokens", "estimated_requests", "cost_usd", "last_used", "avg_first_byte_ms", "avg_seconds",
    ]  # fmt: skip


def test_the_report_rounds_cost_and_averages_and_shows_a_time_never_set_as_null() -> None:
    used = UsageCounters(requests=3, cost_usd=0.1234567, last_used=NOW, first_byte_sum=0.5, first_byte_count=3,
                         seconds_sum=2.0)  # fmt: skip
    shown = report(used)
    assert (shown["cost_usd"], shown["last_used"]) == (0.123457, NOW)
    assert (shown["avg_first_byte_ms"], shown["avg_seconds"]) == (166.7, 0.667)
    assert report(UsageCounters())["last_used"] is None
