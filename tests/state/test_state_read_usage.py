"""read_usage: the CLI reads stored usage straight from a data dir, read-only."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from keyproxy.errors import DatabaseUnavailable, ErrorClass
from keyproxy.events import AttemptEvent, Tokens
from keyproxy.state import read_usage
from keyproxy.state.sqlite_writer import Batch, SqliteWriter
from keyproxy.testing import FakeClock
from keyproxy.usage.book import UsageBook, UsageKey
from state.state_support import sqlite_store

NOW = 1_700_000_000.0


def event(provider: str = "p", model: str = "m", outcome: ErrorClass | None = None) -> AttemptEvent:
    return AttemptEvent(
        provider, model, "sk-a...1234", 1, 200, outcome, "", 2.0, key_id="k", at=NOW, first_byte=0.5,
        tokens=Tokens(prompt=100, completion=20, cached=10, reasoning=5, estimated=True),
    )  # fmt: skip


def write(path: Path, *events: AttemptEvent) -> None:
    book = UsageBook(lambda provider, model, tokens: 0.01)
    for one in events:
        book.emit(one)
    writer = SqliteWriter.open(path)
    writer.apply(Batch(book.drain()))
    writer.close()


def test_read_usage_returns_every_counter_stored_in_the_data_dir(tmp_path: Path) -> None:
    write(tmp_path / "keyproxy.db", event(), event(outcome=ErrorClass.QUOTA_EXHAUSTED))
    [(key, counters)] = read_usage(tmp_path / "keyproxy.db")
    assert key == UsageKey("2023-11-14", "p", "k", "m")
    assert (counters.requests, counters.successes, counters.failures) == (2, 1, {"quota_exhausted": 1})
    assert (counters.prompt_tokens, counters.completion_tokens, counters.cached_tokens) == (200, 40, 20)
    assert (counters.reasoning_tokens, counters.estimated, counters.cost_usd) == (10, 2, 0.02)
    assert (counters.last_used, counters.seconds_sum) == (NOW, 4.0)
    assert (counters.first_byte_sum, counters.first_byte_count) == (1.0, 2)


def test_read_usage_filters_by_provider_and_model(tmp_path: Path) -> None:
    write(tmp_path / "keyproxy.db", event(), event(provider="q"), event(model="n"))
    assert [key.provider + "/" + key.model for key, _ in read_usage(tmp_path / "keyproxy.db", "p", "m")] == ["p/m"]


def test_read_usage_filters_by_inclusive_days(tmp_path: Path) -> None:
    write(tmp_path / "keyproxy.db", event())
    assert len(read_usage(tmp_path / "keyproxy.db", since="2023-11-14", until="2023-11-14")) == 1
    assert read_usage(tmp_path / "keyproxy.db", since="2023-11-15") == []


def test_read_usage_of_a_missing_file_is_empty_and_creates_nothing(tmp_path: Path) -> None:
    assert read_usage(tmp_path / "keyproxy.db") == []
    assert list(tmp_path.iterdir()) == []


def test_read_usage_of_a_database_without_the_schema_is_empty(tmp_path: Path) -> None:
    (tmp_path / "keyproxy.db").write_bytes(b"")  # SQLite reads an empty file as an empty database
    assert read_usage(tmp_path / "keyproxy.db") == []


def test_read_usage_of_a_corrupt_file_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "keyproxy.db").write_bytes(b"garbage" * 1000)
    with pytest.raises(DatabaseUnavailable, match="cannot read"):
        read_usage(tmp_path / "keyproxy.db")


def test_read_usage_works_while_a_proxy_has_the_database_open(tmp_path: Path) -> None:
    async def go() -> int:
        book = UsageBook()
        store = sqlite_store(tmp_path / "keyproxy.db", book)
        await store.start(FakeClock())
        book.emit(event())
        await store.flush()
        [(_, counters)] = read_usage(tmp_path / "keyproxy.db")
        await store.stop()
        return counters.requests

    assert asyncio.run(go()) == 1
