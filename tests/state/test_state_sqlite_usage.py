"""Usage rows in SQLite: every declared counter is written, added to and read back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from sqlite3 import Connection

import pytest

from keyproxy.state.sqlite_db import open_database
from keyproxy.state.sqlite_usage import select_usage, upsert_usage
from keyproxy.usage.book import UsageKey
from usage.usage_support import every_counter_set

KEY = UsageKey("2023-11-14", "p", "k", "m")


@pytest.fixture
def connection(tmp_path: Path) -> Iterator[Connection]:
    opened = open_database(tmp_path / "keyproxy.db")
    yield opened
    opened.close()


def test_every_declared_counter_survives_a_round_trip(connection: Connection) -> None:
    counters = every_counter_set()
    upsert_usage(connection, {KEY: counters})
    assert select_usage(connection) == [(KEY, counters)]


def test_a_second_write_merges_every_counter_as_adding_in_memory_does(connection: Connection) -> None:
    counters = every_counter_set()
    upsert_usage(connection, {KEY: counters})
    upsert_usage(connection, {KEY: counters})
    expected = counters.copy()
    expected.add(counters)
    assert select_usage(connection) == [(KEY, expected)]
