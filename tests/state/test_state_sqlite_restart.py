"""What a SqliteStore restores after a restart: live cooldowns, benches and sticky keys, never in-flight counts."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from keyproxy.errors import ErrorClass
from keyproxy.state import SUCCESS
from keyproxy.state.sqlite_store import SqliteStore
from state.state_support import BENCH, COOL, NOW, restart, rows, status


def test_a_cooldown_survives_a_restart_while_it_lasts(tmp_path: Path) -> None:
    async def before(store: SqliteStore) -> None:
        await store.record("p", "k", "m", COOL)
        await store.record("p", "k", "m", COOL)

    again = restart(tmp_path / "keyproxy.db", before)
    assert (status(again).cooldown_until, status(again).failures) == (NOW + 60, 2)
    assert asyncio.run(again.report("p", ["k"], NOW))[0].cooldowns[0].reason is ErrorClass.RATE_LIMITED


def test_a_bench_survives_a_restart_while_it_lasts(tmp_path: Path) -> None:
    async def before(store: SqliteStore) -> None:
        await store.record("p", "k", "m", BENCH)

    again = restart(tmp_path / "keyproxy.db", before)
    assert status(again, model="other").benched_until == NOW + 600
    assert asyncio.run(again.report("p", ["k"], NOW))[0].bench_reason is ErrorClass.KEY_REJECTED


def test_cooldowns_and_benches_that_ended_are_not_restored(tmp_path: Path) -> None:
    async def before(store: SqliteStore) -> None:
        await store.record("p", "k", "m", COOL)
        await store.record("p", "k", "m", BENCH)

    again = restart(tmp_path / "keyproxy.db", before, advance=601)
    assert (status(again).cooldown_until, status(again).benched_until) == (0.0, 0.0)


def test_a_success_ends_the_stored_cooldown_and_bench(tmp_path: Path) -> None:
    async def before(store: SqliteStore) -> None:
        await store.record("p", "k", "m", COOL)
        await store.record("p", "k", "m", BENCH)
        await store.flush()
        await store.record("p", "k", "m", SUCCESS)

    again = restart(tmp_path / "keyproxy.db", before)
    assert (status(again).cooldown_until, status(again).benched_until) == (0.0, 0.0)


def test_clear_persists_the_lift(tmp_path: Path) -> None:
    async def before(store: SqliteStore) -> None:
        await store.record("p", "k", "m", COOL)
        await store.record("p", "k", "m", BENCH)
        await store.flush()
        assert await store.clear("p", "k") == 2

    again = restart(tmp_path / "keyproxy.db", before)
    assert (status(again).cooldown_until, status(again).benched_until) == (0.0, 0.0)


def test_the_sticky_key_survives_a_restart(tmp_path: Path) -> None:
    async def before(store: SqliteStore) -> None:
        await store.set_sticky("p", "m", "k1")
        await store.set_sticky("p", "m", "k2")

    again = restart(tmp_path / "keyproxy.db", before)
    assert asyncio.run(again.sticky("p", "m")) == "k2"


def test_in_flight_counts_are_not_kept_across_a_restart(tmp_path: Path) -> None:
    async def before(store: SqliteStore) -> None:
        await store.acquire("p", "k", 1.0, NOW)

    assert status(restart(tmp_path / "keyproxy.db", before)).in_flight == 0


def test_a_corrupt_database_is_moved_aside_and_a_fresh_one_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "keyproxy.db").write_bytes(b"garbage" * 1000)

    async def before(store: SqliteStore) -> None:
        await store.record("p", "k", "m", COOL)

    with caplog.at_level(logging.ERROR, logger="keyproxy.state"):
        again = restart(tmp_path / "keyproxy.db", before)
    assert status(again).cooldown_until == NOW + 60
    assert len(list(tmp_path.glob("keyproxy.db.corrupt-*"))) == 1
    assert rows(tmp_path / "keyproxy.db", "SELECT key_id FROM cooldowns") == [("k",)]
    assert "corrupt" in caplog.text
