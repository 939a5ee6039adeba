"""SqliteStore: memory answers, batches go to a real SQLite file on the writer thread, off the event loop."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

import pytest

from keyproxy.errors import ErrorClass
from keyproxy.state import SUCCESS, MemoryStore, Verdict
from keyproxy.state.sqlite_store import SqliteStore
from keyproxy.state.sqlite_usage import read_usage
from keyproxy.state.sqlite_writer import Batch, SqliteWriter
from keyproxy.usage.book import UsageBook
from state.state_support import (
    BENCH,
    COOL,
    DAY,
    NOW,
    HeldClock,
    SpyWriter,
    event,
    rows,
    spying,
    started,
    status,
)


def test_many_events_and_changes_are_written_in_one_transaction(tmp_path: Path) -> None:
    writers: list[SpyWriter] = []

    async def go() -> None:
        book = UsageBook()
        store = await started(tmp_path / "keyproxy.db", book=book, opener=spying(writers))
        for n in range(200):
            book.emit(event(key_id=f"k{n % 4}"))
        await store.record("p", "k1", "m", COOL)
        await store.set_sticky("p", "m", "k2")
        await store.flush()
        await store.stop()

    asyncio.run(go())
    [batch] = writers[0].batches
    kinds = sorted(type(change).__name__ for change in batch.changes)
    assert (len(batch.usage), kinds) == (4, ["CooldownSet", "StickySet", "Touched", "Touched"])
    assert rows(tmp_path / "keyproxy.db", "SELECT sum(requests) FROM usage_daily") == [(200,)]


def test_a_flush_with_nothing_pending_does_not_wake_the_writer(tmp_path: Path) -> None:
    writers: list[SpyWriter] = []

    async def go() -> None:
        store = await started(tmp_path / "keyproxy.db", opener=spying(writers))
        await store.flush()
        await store.stop()

    asyncio.run(go())
    assert writers[0].threads == []


def test_the_writer_runs_on_the_keyproxy_sqlite_thread_never_the_event_loop(tmp_path: Path) -> None:
    writers: list[SpyWriter] = []

    async def go() -> str:
        book = UsageBook()
        store = await started(tmp_path / "keyproxy.db", book=book, opener=spying(writers))
        book.emit(event())
        await store.flush()
        await store.stop()
        return threading.current_thread().name

    loop_thread = asyncio.run(go())
    [thread] = writers[0].threads
    assert thread.startswith("keyproxy-sqlite") and thread != loop_thread


def test_the_flush_loop_writes_once_per_interval(tmp_path: Path) -> None:
    async def go() -> tuple[list[tuple[Any, ...]], float]:
        clock, book = HeldClock(), UsageBook()
        store = await started(tmp_path / "keyproxy.db", clock, book=book, interval=1.0)
        book.emit(event())
        await clock.tick()
        written = rows(tmp_path / "keyproxy.db", "SELECT requests FROM usage_daily")
        await store.stop()
        return written, clock.now()

    written, now = asyncio.run(go())
    assert (written, now) == ([(1,)], NOW + 1.0)


def test_stop_writes_everything_pending(tmp_path: Path) -> None:
    async def go() -> None:
        book = UsageBook()
        store = await started(tmp_path / "keyproxy.db", book=book)
        book.emit(event())
        await store.record("p", "k", "m", COOL)
        await store.stop()

    asyncio.run(go())
    assert rows(tmp_path / "keyproxy.db", "SELECT requests FROM usage_daily") == [(1,)]
    cooldowns = rows(tmp_path / "keyproxy.db", "SELECT key_id, until, reason FROM cooldowns")
    assert cooldowns == [("k", NOW + 60, "rate_limited")]


def test_usage_adds_up_across_flushes_and_restarts(tmp_path: Path) -> None:
    async def session(count: int) -> None:
        book = UsageBook()
        store = await started(tmp_path / "keyproxy.db", book=book)
        for _ in range(count):
            book.emit(event())
            await store.flush()
        await store.stop()

    asyncio.run(session(2))
    asyncio.run(session(3))
    [(_, counters)] = read_usage(tmp_path / "keyproxy.db")
    assert (counters.requests, counters.prompt_tokens) == (5, 50)


def test_usage_query_adds_what_is_not_flushed_yet(tmp_path: Path) -> None:
    async def go() -> int:
        book = UsageBook()
        store = await started(tmp_path / "keyproxy.db", book=book)
        book.emit(event())
        await store.flush()
        book.emit(event())
        book.emit(event(provider="other"))
        [(_, counters)] = await store.usage(provider="p")
        await store.stop()
        return counters.requests

    assert asyncio.run(go()) == 2


def test_last_use_of_a_key_is_written(tmp_path: Path) -> None:
    async def go() -> None:
        store = await started(tmp_path / "keyproxy.db")
        await store.acquire("p", "k", 1.0, NOW + 5)
        await store.release("p", "k")
        await store.stop()

    asyncio.run(go())
    assert rows(tmp_path / "keyproxy.db", "SELECT key_id, last_seen FROM key_state") == [("k", NOW + 5)]


def test_a_failed_flush_keeps_everything_for_the_next_and_logs_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    writers: list[SpyWriter] = []

    async def go() -> None:
        book = UsageBook()
        store = await started(tmp_path / "keyproxy.db", book=book, opener=spying(writers))
        writers[0].failures = 2
        book.emit(event())
        await store.record("p", "k", "m", COOL)
        await store.flush()
        book.emit(event())
        await store.flush()
        [kept] = await store.statuses("p", ["k"], "m")
        assert kept.cooldown_until == NOW + 60  # the store kept serving from memory
        await store.flush()
        await store.stop()

    with caplog.at_level(logging.INFO, logger="keyproxy.state"):
        asyncio.run(go())
    assert rows(tmp_path / "keyproxy.db", "SELECT requests FROM usage_daily") == [(2,)]
    assert rows(tmp_path / "keyproxy.db", "SELECT until FROM cooldowns") == [(NOW + 60,)]
    assert [record.levelname for record in caplog.records] == ["ERROR", "INFO"]


def test_a_database_that_cannot_be_opened_leaves_the_store_serving_from_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "taken").write_text("a file where the data directory should be")

    async def go() -> SqliteStore:
        book = UsageBook()
        store = await started(tmp_path / "taken" / "keyproxy.db", book=book)
        await store.record("p", "k", "m", COOL)
        book.emit(event())
        await store.flush()
        assert [counters.requests for _, counters in await store.usage()] == [1]
        await store.stop()
        return store

    with caplog.at_level(logging.ERROR, logger="keyproxy.state"):
        store = asyncio.run(go())
    assert not store.persistent
    assert status(store).cooldown_until == NOW + 60
    assert len(caplog.records) == 1 and "memory only" in caplog.text


def test_prune_runs_at_start(tmp_path: Path) -> None:
    writer = SqliteWriter.open(tmp_path / "keyproxy.db")
    book = UsageBook()
    book.emit(event(at=NOW - 100 * DAY))
    book.emit(event())
    writer.apply(Batch(book.drain()))
    writer.close()

    async def go() -> list[str]:
        store = await started(tmp_path / "keyproxy.db", retention_days=90)
        days = [key.day for key, _ in await store.usage()]
        await store.stop()
        return days

    assert asyncio.run(go()) == ["2023-11-14"]


def test_prune_runs_again_a_day_later(tmp_path: Path) -> None:
    async def go() -> tuple[int, int]:
        clock, book = HeldClock(), UsageBook()
        store = await started(tmp_path / "keyproxy.db", clock, book=book, retention_days=1)
        book.emit(event())
        await store.flush()
        clock.advance(2 * DAY)
        await clock.tick()
        written = len(await store.usage())
        await store.stop()
        return written, len(rows(tmp_path / "keyproxy.db", "SELECT * FROM usage_daily"))

    assert asyncio.run(go()) == (0, 0)


async def scenario(store: Any) -> list[Any]:
    """The same calls on any StateStore, and everything it answers."""
    seen: list[Any] = []
    await store.acquire("p", "k1", 1.0, NOW)
    await store.record("p", "k1", "m", COOL)
    await store.record("p", "k2", "m", BENCH)
    await store.record("p", "k1", "m", Verdict("model", NOW + 30, ErrorClass.TRANSIENT))
    await store.observe_headroom("p", "k2", "m", 0.5, NOW + 10)
    await store.set_sticky("p", "m", "k2")
    seen.append(await store.statuses("p", ["k1", "k2", "k3"], "m"))
    seen.append(await store.report("p", ["k1", "k2"], NOW))
    await store.release("p", "k1")
    seen.append(await store.clear("p", "k1"))
    await store.record("p", "k2", "m", SUCCESS)
    seen.append(await store.statuses("p", ["k1", "k2"], "m"))
    seen.append(await store.sticky("p", "m"))
    return seen


def test_it_answers_exactly_like_the_memory_store(tmp_path: Path) -> None:
    async def go() -> tuple[list[Any], list[Any]]:
        store = await started(tmp_path / "keyproxy.db")
        answers = await scenario(store)
        await store.stop()
        return answers, await scenario(MemoryStore())

    sqlite_answers, memory_answers = asyncio.run(go())
    assert sqlite_answers == memory_answers
