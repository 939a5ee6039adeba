"""Stored Responses-API responses in MemoryStore and SqliteStore: put, get, delete, expiry, flush, restart."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from keyproxy.state import MemoryStore
from keyproxy.state.sqlite_db import MIGRATIONS, SCHEMA_VERSION, open_database, schema_version
from keyproxy.state.sqlite_store import SqliteStore
from state.state_support import DAY, NOW, SpyWriter, restart, rows, spying, started

LATER = NOW + 30 * DAY


async def exchange(store: Any) -> list[Any]:
    """The same calls on any StateStore, and everything it answers."""
    seen: list[Any] = []
    await store.put_response("resp_a", b'{"a":1}', NOW, LATER)
    await store.put_response("resp_b", b'{"b":1}', NOW, NOW + 10)
    seen.append(await store.get_response("resp_a", NOW))
    seen.append(await store.get_response("resp_b", NOW + 5))
    seen.append(await store.get_response("resp_b", NOW + 10))  # expired at its end
    seen.append(await store.get_response("resp_none", NOW))
    await store.put_response("resp_a", b'{"a":2}', NOW, LATER)
    seen.append(await store.get_response("resp_a", NOW))
    seen.append(await store.delete_response("resp_a", NOW))
    seen.append(await store.delete_response("resp_a", NOW))
    seen.append(await store.delete_response("resp_b", NOW + 20))  # expired: nothing to delete
    seen.append(await store.get_response("resp_a", NOW))
    return seen


EXPECTED = [b'{"a":1}', b'{"b":1}', None, None, b'{"a":2}', True, False, False, None]


def test_the_memory_store_keeps_responses_until_they_expire_or_are_deleted() -> None:
    assert asyncio.run(exchange(MemoryStore())) == EXPECTED


def test_the_memory_store_forgets_expired_responses_as_new_ones_come() -> None:
    async def go() -> int:
        store = MemoryStore()
        for number in range(100):
            await store.put_response(f"resp_{number}", b"{}", NOW + number, NOW + number + 10)
        return len(store._responses)

    assert asyncio.run(go()) == 10


def test_the_sqlite_store_answers_like_the_memory_store_before_and_after_a_flush(tmp_path: Path) -> None:
    async def go() -> tuple[list[Any], list[Any]]:
        store = await started(tmp_path / "keyproxy.db")
        before = await exchange(store)
        await store.flush()
        await store.put_response("resp_c", b'{"c":1}', NOW, LATER)
        await store.flush()
        after = [await store.get_response("resp_c", NOW), await store.delete_response("resp_c", NOW),
                 await store.get_response("resp_c", NOW)]  # fmt: skip
        await store.stop()
        return before, after

    before, after = asyncio.run(go())
    assert before == EXPECTED
    assert after == [b'{"c":1}', True, None]


def test_a_stored_response_is_written_by_the_flush_not_by_the_put(tmp_path: Path) -> None:
    writers: list[SpyWriter] = []

    async def go() -> list[Any]:
        store = await started(tmp_path / "keyproxy.db", opener=spying(writers))
        await store.put_response("resp_a", b"{}", NOW, LATER)
        written_before = rows(tmp_path / "keyproxy.db", "SELECT count(*) FROM responses")
        await store.flush()
        await store.stop()
        return written_before

    assert asyncio.run(go()) == [(0,)]
    assert [type(change).__name__ for change in writers[0].batches[0].changes] == ["ResponseStored"]
    assert rows(tmp_path / "keyproxy.db", "SELECT id, record FROM responses") == [("resp_a", b"{}")]


def test_a_response_deleted_before_its_delete_is_written_stays_deleted(tmp_path: Path) -> None:
    async def go() -> list[Any]:
        store = await started(tmp_path / "keyproxy.db")
        await store.put_response("resp_a", b"{}", NOW, LATER)
        await store.flush()
        deleted = await store.delete_response("resp_a", NOW)
        found = await store.get_response("resp_a", NOW)
        await store.stop()
        return [deleted, found]

    assert asyncio.run(go()) == [True, None]
    assert rows(tmp_path / "keyproxy.db", "SELECT count(*) FROM responses") == [(0,)]


def test_stored_responses_survive_a_restart_and_are_read_from_the_file(tmp_path: Path) -> None:
    async def go() -> bytes | None:
        first = await started(tmp_path / "keyproxy.db")
        await first.put_response("resp_a", b'{"kept":true}', NOW, LATER)
        await first.stop()
        second = await started(tmp_path / "keyproxy.db")
        found = await second.get_response("resp_a", NOW)
        await second.stop()
        return found

    assert asyncio.run(go()) == b'{"kept":true}'


def test_expired_responses_are_pruned_from_the_file(tmp_path: Path) -> None:
    async def before(store: SqliteStore) -> None:
        await store.put_response("resp_old", b"{}", NOW, NOW + 10)
        await store.put_response("resp_new", b"{}", NOW, LATER)

    restart(tmp_path / "keyproxy.db", before, advance=DAY)
    assert rows(tmp_path / "keyproxy.db", "SELECT id FROM responses") == [("resp_new",)]


def test_a_memory_only_sqlite_store_keeps_responses_in_memory(tmp_path: Path) -> None:
    (tmp_path / "keyproxy.db").mkdir()  # a directory where the file should be: the database cannot open

    async def go() -> list[Any]:
        store = await started(tmp_path / "keyproxy.db")
        answers = await exchange(store)
        await store.stop()
        return [store.persistent, *answers]

    assert asyncio.run(go()) == [False, *EXPECTED]


def test_a_version_1_database_gains_the_responses_table_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "keyproxy.db"
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    connection.executescript(MIGRATIONS[0])
    connection.execute("INSERT INTO sticky VALUES ('p', 'm', 'k')")
    connection.close()
    upgraded = open_database(path)
    assert schema_version(upgraded) == SCHEMA_VERSION == 4
    assert upgraded.execute("SELECT key_id FROM sticky").fetchall() == [("k",)]
    assert upgraded.execute("SELECT count(*) FROM responses").fetchall() == [(0,)]
    upgraded.close()


@pytest.mark.parametrize("flushed", [False, True])
def test_a_put_after_a_delete_is_found_again(tmp_path: Path, flushed: bool) -> None:
    async def go() -> bytes | None:
        store = await started(tmp_path / "keyproxy.db")
        await store.put_response("resp_a", b"1", NOW, LATER)
        await store.delete_response("resp_a", NOW)
        if flushed:
            await store.flush()
        await store.put_response("resp_a", b"2", NOW, LATER)
        found = await store.get_response("resp_a", NOW)
        await store.stop()
        return found

    assert asyncio.run(go()) == b"2"
