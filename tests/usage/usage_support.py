"""Helpers for the usage tests, and for the stores' tests of the same counters."""

from __future__ import annotations

from keyproxy.usage.counters import FLAT_COUNTERS, UsageCounters


def every_counter_set() -> UsageCounters:
    """Counters where every declared count has its own value, none 0, floats with a fraction."""
    return UsageCounters.from_flat(
        {counter.name: n + 1.5 if counter.kind is float else n + 1 for n, counter in enumerate(FLAT_COUNTERS)}
    )
