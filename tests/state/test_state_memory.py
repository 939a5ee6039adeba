"""MemoryStore as a whole StateStore: usage is what it was sent since start, and start and stop change nothing."""

from __future__ import annotations

import asyncio

import pytest

from keyproxy.errors import ErrorClass
from keyproxy.events import Tokens
from keyproxy.state import MemoryStore, Verdict, memory
from keyproxy.testing import FakeClock
from keyproxy.usage.book import UsageBook
from state.state_support import COOL, DAY, NOW, event


def test_a_memory_store_answers_usage_from_the_events_it_was_sent() -> None:
    store = MemoryStore()
    store.emit(event())
    store.emit(event(outcome=ErrorClass.RATE_LIMITED, tokens=None))
    store.emit(event(model="other"))
    rows = asyncio.run(store.usage(provider="p", model="m"))
    [(key, counters)] = rows
    assert (key.provider, key.key_id, key.model) == ("p", "k", "m")
    assert (counters.requests, counters.successes, counters.failures) == (2, 1, {"rate_limited": 1})
    assert (counters.prompt_tokens, counters.completion_tokens) == (10, 2)


def test_a_memory_store_filters_usage_by_day() -> None:
    store = MemoryStore()
    store.emit(event())
    store.emit(event(at=NOW + DAY))
    [(key, _)] = asyncio.run(store.usage(since="2023-11-15"))
    [(before, _)] = asyncio.run(store.usage(until="2023-11-14"))
    assert (before.day, key.day) == ("2023-11-14", "2023-11-15")


def test_a_memory_store_prices_usage_with_the_book_it_was_given() -> None:
    store = MemoryStore(UsageBook(lambda provider, model, tokens: 0.25))
    store.emit(event(tokens=Tokens(prompt=1)))
    [(_, counters)] = asyncio.run(store.usage())
    assert counters.cost_usd == 0.25


def test_start_and_stop_keep_a_memory_stores_state_and_usage() -> None:
    async def go() -> tuple[float, int]:
        store = MemoryStore()
        await store.start(FakeClock(NOW))
        await store.record("p", "k", "m", COOL)
        store.emit(event())
        await store.stop()
        [(_, counters)] = await store.usage()
        return (await store.statuses("p", ["k"], "m"))[0].cooldown_until, counters.requests

    assert asyncio.run(go()) == (NOW + 60, 1)


def test_per_model_state_is_bounded_and_the_oldest_entry_goes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "SCOPED_LIMIT", 3)
    store = MemoryStore()

    async def invent() -> list[float]:
        for n in range(5):
            await store.record("p", "k", f"invented-{n}", Verdict("model", NOW + 60, ErrorClass.KEY_REJECTED))
            await store.set_sticky("p", f"invented-{n}", "k")
        cooled = [(await store.statuses("p", ["k"], f"invented-{n}"))[0].cooldown_until for n in range(5)]
        return [*cooled, float(await store.sticky("p", "invented-0") is None)]

    assert asyncio.run(invent()) == [0.0, 0.0, NOW + 60, NOW + 60, NOW + 60, 1.0]


def test_a_conversations_key_is_kept_until_its_time_is_up() -> None:
    store = MemoryStore()

    async def go() -> list[str | None]:
        await store.set_affinity("p", "conv-1", "k2", NOW + 3600)
        return [await store.affinity("p", "conv-1", NOW), await store.affinity("p", "conv-1", NOW + 3600),
                await store.affinity("p", "conv-2", NOW), await store.affinity("q", "conv-1", NOW)]  # fmt: skip

    assert asyncio.run(go()) == ["k2", None, None, None]


def test_conversations_are_bounded_and_the_one_moved_longest_ago_goes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "SCOPED_LIMIT", 2)
    store = MemoryStore()

    async def go() -> list[str | None]:
        await store.set_affinity("p", "a", "k1", NOW + 60)
        await store.set_affinity("p", "b", "k1", NOW + 60)
        await store.set_affinity("p", "a", "k2", NOW + 60)
        await store.set_affinity("p", "c", "k3", NOW + 60)
        return [await store.affinity("p", name, NOW) for name in ("a", "b", "c")]

    assert asyncio.run(go()) == ["k2", None, "k3"]
