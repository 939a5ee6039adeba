"""The usage book: attempt events added up per day, provider, key and model, in memory until flushed."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

import msgspec

from keyproxy.events import AttemptEvent, Tokens
from keyproxy.usage.counters import UsageCounters

# UsageCounters is part of the book's surface: the book hands them out.
Price = Callable[[str, str, Tokens], float | None]
"""price(provider, model, tokens) -> USD, or None when the model has no known price."""

_DAY = 86400.0


# A struct: one is made per attempt, and msgspec builds and hashes it in C.
class UsageKey(msgspec.Struct, frozen=True, gc=False):
    day: str
    """The UTC date of the attempts, YYYY-MM-DD."""
    provider: str
    key_id: str
    """The key's fingerprint, never the key."""
    model: str


UsageRows = list[tuple[UsageKey, UsageCounters]]


MODELS_PER_KEY_AND_DAY = 1000
"""Distinct model names one key's usage is kept under per day; attempts on more go to OTHER_MODELS, so a
client inventing model names cannot grow the usage rows without bound."""
OTHER_MODELS = "(other models)"


class UsageBook:
    """An EventSink. Every event is one request to one key; `emit` runs on the event loop per attempt,
    so it does a dict lookup and additions and nothing else."""

    def __init__(self, price: Price | None = None) -> None:
        self._price = price
        self._pending: dict[tuple[str, str, str, str], UsageCounters] = {}
        self._models: dict[tuple[str, str], set[str]] = {}
        """The model names each (provider, key) has rows under today."""
        self._day = ""
        self._day_start = 0.0
        self._day_end = 0.0

    def emit(self, event: AttemptEvent) -> None:
        at = event.at
        if not self._day_start <= at < self._day_end:
            self._turn_day(at)
        slot = (self._day, event.provider, event.key_id, event.model)
        counters = self._pending.get(slot)
        if counters is None:
            slot = (self._day, event.provider, event.key_id, self._bounded(event))
            counters = self._pending.get(slot) or self._pending.setdefault(slot, UsageCounters())
        counters.requests += 1
        outcome = event.outcome
        if outcome is None:
            counters.successes += 1
        else:
            counters.failures[outcome.value] = counters.failures.get(outcome.value, 0) + 1
        counters.seconds_sum += event.seconds
        if event.first_byte is not None:
            counters.first_byte_sum += event.first_byte
            counters.first_byte_count += 1
        if at > counters.last_used:
            counters.last_used = at
        tokens = event.tokens
        if tokens is None:
            return
        counters.prompt_tokens += tokens.prompt
        counters.completion_tokens += tokens.completion
        counters.cached_tokens += tokens.cached
        counters.reasoning_tokens += tokens.reasoning
        if tokens.estimated:
            counters.estimated += 1
        if self._price is not None:
            cost = self._price(event.provider, event.model, tokens)
            if cost is not None:
                counters.cost_usd += cost

    def _bounded(self, event: AttemptEvent) -> str:
        models = self._models.setdefault((event.provider, event.key_id), set())
        if event.model in models:
            return event.model
        if len(models) >= MODELS_PER_KEY_AND_DAY:
            return OTHER_MODELS
        models.add(event.model)
        return event.model

    def _turn_day(self, at: float) -> None:
        # Formatting a date per event would dominate emit; it changes once a day.
        self._models.clear()
        start = at - at % _DAY
        self._day = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%d")
        self._day_start, self._day_end = start, start + _DAY

    def pending_rows(self) -> int:
        """How many (day, provider, key, model) rows are waiting for a flush. Not __len__: an empty book
        must stay truthy where sinks are chosen with `or`."""
        return len(self._pending)

    def drain(self) -> dict[UsageKey, UsageCounters]:
        """Take everything pending; the book starts again from zero."""
        pending, self._pending = self._pending, {}
        return {UsageKey(*slot): counters for slot, counters in pending.items()}

    def pending(self) -> dict[UsageKey, UsageCounters]:
        """A copy of what has not been flushed yet, for queries."""
        return {UsageKey(*slot): counters.copy() for slot, counters in self._pending.items()}

    def restore(self, batch: Mapping[UsageKey, UsageCounters]) -> None:
        """Put back a drained batch that could not be written, merged with what came in since."""
        for key, counters in batch.items():
            slot = (key.day, key.provider, key.key_id, key.model)
            found = self._pending.get(slot)
            if found is None:
                self._pending[slot] = counters.copy()
            else:
                found.add(counters)


def select(
    rows: Iterable[tuple[UsageKey, UsageCounters]],
    provider: str | None = None,
    model: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> UsageRows:
    """The rows matching every filter given; `since` and `until` are UTC days, both inclusive."""
    return [
        (key, counters)
        for key, counters in rows
        if (provider is None or key.provider == provider)
        and (model is None or key.model == model)
        and (since is None or key.day >= since)
        and (until is None or key.day <= until)
    ]


def merge(*parts: Iterable[tuple[UsageKey, UsageCounters]]) -> UsageRows:
    """Rows of the same key added together, sorted by day, provider, key and model."""
    merged: dict[UsageKey, UsageCounters] = {}
    for rows in parts:
        for key, counters in rows:
            found = merged.get(key)
            if found is None:
                merged[key] = counters.copy()
            else:
                found.add(counters)
    return sorted(merged.items(), key=lambda row: (row[0].day, row[0].provider, row[0].key_id, row[0].model))
