"""The usage book adds attempt events up per day, provider, key and model, in memory."""

from __future__ import annotations

from typing import Any

import pytest

from keyproxy.errors import ErrorClass
from keyproxy.events import AttemptEvent, Tokens
from keyproxy.usage import book as book_module
from keyproxy.usage.book import OTHER_MODELS, UsageBook, UsageKey, merge, select
from keyproxy.usage.counters import UsageCounters

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z
MIDNIGHT = 1_700_006_400.0  # 2023-11-15T00:00:00Z
KEY = UsageKey("2023-11-14", "openai", "abc123abc123", "gpt-4o")


def event(**overrides: Any) -> AttemptEvent:
    values: dict[str, Any] = {
        "provider": "openai", "model": "gpt-4o", "key_mask": "sk-a...1234", "attempt": 1, "status": 200,
        "outcome": None, "message": "", "seconds": 1.0, "key_id": "abc123abc123", "at": NOW,
    }  # fmt: skip
    return AttemptEvent(**{**values, **overrides})


def counters_after(*events: AttemptEvent, book: UsageBook | None = None) -> UsageCounters:
    book = UsageBook() if book is None else book
    for one in events:
        book.emit(one)
    return book.drain()[KEY]


def test_a_success_counts_one_request_and_one_success() -> None:
    counters = counters_after(event())
    assert (counters.requests, counters.successes, counters.failures) == (1, 1, {})


def test_failures_are_counted_by_error_class() -> None:
    counters = counters_after(
        event(outcome=ErrorClass.RATE_LIMITED, status=429),
        event(outcome=ErrorClass.RATE_LIMITED, status=429),
        event(outcome=ErrorClass.TRANSIENT, status=503),
    )
    assert (counters.requests, counters.successes) == (3, 0)
    assert counters.failures == {"rate_limited": 2, "transient": 1}


def test_reported_tokens_are_added() -> None:
    counters = counters_after(
        event(tokens=Tokens(prompt=10, completion=5, cached=2, reasoning=1)),
        event(tokens=Tokens(prompt=20, completion=7)),
    )
    assert (counters.prompt_tokens, counters.completion_tokens) == (30, 12)
    assert (counters.cached_tokens, counters.reasoning_tokens, counters.estimated) == (2, 1, 0)


def test_estimated_tokens_count_as_estimated_requests() -> None:
    counters = counters_after(event(tokens=Tokens(prompt=10, estimated=True)), event(tokens=Tokens(prompt=3)))
    assert (counters.prompt_tokens, counters.estimated) == (13, 1)


def test_an_event_without_tokens_adds_no_tokens_and_no_cost() -> None:
    book = UsageBook(price=lambda provider, model, tokens: 1.0)
    counters = counters_after(event(), book=book)
    assert (counters.prompt_tokens, counters.cost_usd) == (0, 0.0)


def test_cost_comes_from_the_price_of_the_provider_model_and_tokens() -> None:
    seen: list[tuple[str, str, Tokens]] = []

    def price(provider: str, model: str, tokens: Tokens) -> float:
        seen.append((provider, model, tokens))
        return tokens.prompt * 0.001

    counters = counters_after(event(tokens=Tokens(prompt=100)), event(tokens=Tokens(prompt=50)), book=UsageBook(price))
    assert counters.cost_usd == pytest.approx(0.15)
    assert seen[0] == ("openai", "gpt-4o", Tokens(prompt=100))


def test_a_model_without_a_price_adds_no_cost() -> None:
    counters = counters_after(event(tokens=Tokens(prompt=100)), book=UsageBook(lambda provider, model, tokens: None))
    assert counters.cost_usd == 0.0


def test_latency_keeps_sums_and_counts() -> None:
    counters = counters_after(
        event(seconds=2.0, first_byte=0.5),
        event(seconds=4.0, first_byte=1.5),
        event(seconds=1.0, outcome=ErrorClass.TRANSIENT),
    )
    assert (counters.seconds_sum, counters.first_byte_sum, counters.first_byte_count) == (7.0, 2.0, 2)


def test_last_used_is_the_latest_event_time() -> None:
    counters = counters_after(event(at=NOW + 5), event(at=NOW + 1))
    assert counters.last_used == NOW + 5


def test_events_either_side_of_utc_midnight_land_on_different_days() -> None:
    book = UsageBook()
    book.emit(event(at=MIDNIGHT - 0.001))
    book.emit(event(at=MIDNIGHT))
    book.emit(event(at=MIDNIGHT - 1))
    days = {key.day: counters.requests for key, counters in book.drain().items()}
    assert days == {"2023-11-14": 2, "2023-11-15": 1}


def test_keys_and_models_are_counted_apart() -> None:
    book = UsageBook()
    book.emit(event())
    book.emit(event(key_id="def456def456"))
    book.emit(event(model="gpt-4o-mini"))
    assert len(book.drain()) == 3


def test_drain_takes_everything_and_starts_again_from_zero() -> None:
    book = UsageBook()
    book.emit(event())
    assert book.drain()[KEY].requests == 1
    assert (book.pending_rows(), book.drain()) == (0, {})


def test_restore_merges_a_drained_batch_with_events_since() -> None:
    book = UsageBook()
    book.emit(event(outcome=ErrorClass.TRANSIENT))
    batch = book.drain()
    book.emit(event())
    book.restore(batch)
    counters = book.drain()[KEY]
    assert (counters.requests, counters.successes, counters.failures) == (2, 1, {"transient": 1})


def test_pending_is_a_snapshot_later_events_do_not_change() -> None:
    book = UsageBook()
    book.emit(event())
    snapshot = book.pending()
    book.emit(event(outcome=ErrorClass.TRANSIENT))
    assert (snapshot[KEY].requests, snapshot[KEY].failures) == (1, {})
    assert book.pending()[KEY].requests == 2


def test_adding_counters_keeps_the_latest_last_used() -> None:
    total = UsageCounters(requests=1, last_used=NOW + 9, failures={"transient": 1})
    total.add(UsageCounters(requests=2, last_used=NOW, failures={"transient": 2, "key_rejected": 1}))
    assert (total.requests, total.last_used, total.failures) == (3, NOW + 9, {"transient": 3, "key_rejected": 1})


def test_select_keeps_rows_matching_every_filter_with_inclusive_days() -> None:
    rows = [
        (UsageKey(day, provider, "k", "m"), UsageCounters(requests=1))
        for day in ("2024-01-01", "2024-01-02", "2024-01-03")
        for provider in ("a", "b")
    ]
    chosen = select(rows, provider="a", since="2024-01-02", until="2024-01-03")
    assert [key.day for key, _ in chosen] == ["2024-01-02", "2024-01-03"]


def test_merge_adds_rows_of_the_same_key_and_sorts() -> None:
    later = UsageKey("2024-01-02", "a", "k", "m")
    merged = merge(
        [(later, UsageCounters(requests=1))], [(KEY, UsageCounters(requests=2)), (later, UsageCounters(requests=3))]
    )
    assert [(key, counters.requests) for key, counters in merged] == [(KEY, 2), (later, 4)]


def test_an_empty_book_is_still_truthy_so_sink_defaults_chosen_with_or_keep_it() -> None:
    assert UsageBook()


def test_a_key_keeps_rows_for_a_bounded_number_of_models_a_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(book_module, "MODELS_PER_KEY_AND_DAY", 2)
    book = UsageBook()
    for model in ("a", "b", "invented-1", "invented-2", "a"):
        book.emit(event(model=model))
    rows = {key.model: counters.requests for key, counters in book.drain().items()}
    assert rows == {"a": 2, "b": 1, OTHER_MODELS: 2}
