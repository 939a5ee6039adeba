"""Fair-cycle marks in every store: kept in memory, restored from SQLite after a restart, shared through Redis."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

from keyproxy.state import MemoryStore
from keyproxy.state.base import NO_MARKS, CycleMarks
from keyproxy.state.redis_store import RedisStore
from keyproxy.state.sqlite_store import SqliteStore
from state.state_support import DEFAULTS, NOW, HeldClock, relay_to_redis, restart
from support import REDIS_URL, needs_redis

WEEK = 604800.0


async def marks_of(store: Any) -> list[CycleMarks]:
    """The same calls on any StateStore, and the cycles it answers."""
    seen = [await store.cycle("p", "m")]
    await store.exhaust("p", "m", "k1", NOW, WEEK)
    await store.exhaust("p", "m", "k2", NOW + 5, WEEK)
    await store.exhaust("p", "m", "k1", NOW + 9, WEEK)  # marking again changes nothing
    await store.exhaust("p", "*", "k3", NOW, WEEK)
    seen += [await store.cycle("p", "m"), await store.cycle("p", "*"), await store.cycle("q", "m")]
    await store.reset_cycle("p", "m", ["k1"], NOW + 10)
    seen.append(await store.cycle("p", "m"))
    await store.reset_cycle("p", "m", ["k2"], NOW + 11)
    seen.append(await store.cycle("p", "m"))
    return seen


EXPECTED = [
    NO_MARKS,
    CycleMarks(NOW, {"k1": NOW, "k2": NOW + 5}),
    CycleMarks(NOW, {"k3": NOW}),
    NO_MARKS,
    CycleMarks(NOW, {"k2": NOW + 5}),
    NO_MARKS,
]


def test_the_memory_store_keeps_marks_until_their_cycle_resets() -> None:
    assert asyncio.run(marks_of(MemoryStore())) == EXPECTED


def test_clearing_a_key_by_hand_also_forgets_its_marks() -> None:
    async def go() -> CycleMarks:
        store = MemoryStore()
        await store.exhaust("p", "m", "k1", NOW, WEEK)
        await store.exhaust("p", "m", "k2", NOW, WEEK)
        await store.clear("p", "k1")
        return await store.cycle("p", "m")

    assert asyncio.run(go()) == CycleMarks(NOW, {"k2": NOW})


def test_marks_survive_a_restart_of_the_sqlite_store(tmp_path: Path) -> None:
    async def before(store: SqliteStore) -> None:
        await store.exhaust("p", "group:pro", "k1", NOW, WEEK)
        await store.exhaust("p", "group:pro", "k2", NOW + 5, WEEK)
        await store.exhaust("p", "m", "k1", NOW, WEEK)
        await store.reset_cycle("p", "m", ["k1"], NOW + 6)

    again = restart(tmp_path / "keyproxy.db", before)
    assert asyncio.run(again.cycle("p", "group:pro")) == CycleMarks(NOW, {"k1": NOW, "k2": NOW + 5})
    assert asyncio.run(again.cycle("p", "m")) == NO_MARKS


def test_a_key_cleared_by_hand_has_no_marks_after_a_restart_either(tmp_path: Path) -> None:
    async def before(store: SqliteStore) -> None:
        await store.exhaust("p", "m", "k1", NOW, WEEK)
        await store.exhaust("p", "m", "k2", NOW, WEEK)
        await store.clear("p", "k1")

    again = restart(tmp_path / "keyproxy.db", before)
    assert asyncio.run(again.cycle("p", "m")) == CycleMarks(NOW, {"k2": NOW})


async def _redis(prefix: str, local: Any = None) -> RedisStore:
    store = RedisStore(
        REDIS_URL, local if local is not None else MemoryStore(), prefix=prefix, interval=DEFAULTS.flush_interval,
        retention_days=DEFAULTS.retention_days,
    )  # fmt: skip
    await store.start(HeldClock())
    return store


@needs_redis
def test_the_redis_store_answers_like_the_memory_store(redis_prefix: str) -> None:
    async def go() -> list[CycleMarks]:
        store = await _redis(redis_prefix)
        try:
            return await marks_of(store)
        finally:
            await store.stop()

    assert asyncio.run(go()) == EXPECTED


@needs_redis
def test_a_mark_made_by_one_instance_holds_on_another_and_after_a_restart(redis_prefix: str) -> None:
    async def go() -> tuple[CycleMarks, CycleMarks, CycleMarks, CycleMarks]:
        first, second = await _redis(redis_prefix), await _redis(redis_prefix)
        try:
            before = await second.cycle("p", "m")  # the second instance now watches this cycle
            await first.exhaust("p", "m", "k1", NOW, WEEK)
            await second.flush()  # its flush loop reads the cycles it watches
            seen = await second.cycle("p", "m")
            await second.reset_cycle("p", "m", ["k1"], NOW + 1)
            await first.flush()
            reset = await first.cycle("p", "m")
            await first.exhaust("p", "m", "k2", NOW + 2, WEEK)
        finally:
            await first.stop()
            await second.stop()
        third = await _redis(redis_prefix)
        try:
            return before, seen, reset, await third.cycle("p", "m")
        finally:
            await third.stop()

    before, seen, reset, restarted = asyncio.run(go())
    assert before == NO_MARKS
    assert seen == CycleMarks(NOW, {"k1": NOW})
    assert reset == NO_MARKS
    assert restarted == CycleMarks(NOW + 2, {"k2": NOW + 2})


@needs_redis
def test_a_success_on_a_clean_key_reads_and_writes_no_fair_cycle_in_redis(redis_prefix: str) -> None:
    """Asking for a cycle already known costs no round trip: the view answers."""

    async def go() -> int:
        store = await _redis(redis_prefix)
        try:
            await store.cycle("p", "m")
            calls = 0
            real = store._cycles.read

            async def counted(provider: str, tracking: str) -> CycleMarks:
                nonlocal calls
                calls += 1
                return await real(provider, tracking)

            store._cycles.read = counted  # type: ignore[method-assign]
            for _ in range(5):
                await store.cycle("p", "m")
            return calls
        finally:
            await store.stop()

    assert asyncio.run(go()) == 0


@needs_redis
def test_marks_and_resets_made_while_redis_was_down_reach_it_when_it_is_back(redis_prefix: str) -> None:
    async def go() -> tuple[bool, CycleMarks]:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        store = RedisStore(
            f"redis://127.0.0.1:{port}/0", MemoryStore(), prefix=redis_prefix, interval=DEFAULTS.flush_interval,
            retention_days=DEFAULTS.retention_days,
        )  # fmt: skip
        await store.start(HeldClock())
        await store.exhaust("p", "m", "k1", NOW, WEEK)
        await store.exhaust("p", "m", "k2", NOW + 1, WEEK)
        await store.reset_cycle("p", "m", ["k1"], NOW + 2)
        down = not store.healthy
        server = await asyncio.start_server(relay_to_redis, "127.0.0.1", port)
        try:
            await store.probe()
            other = await _redis(redis_prefix)
            try:
                return down, await other.cycle("p", "m")
            finally:
                await other.stop()
        finally:
            await store.stop()
            server.close()
            await server.wait_closed()

    down, seen = asyncio.run(go())
    assert down
    assert seen == CycleMarks(NOW, {"k2": NOW + 1})


@needs_redis
def test_an_operators_clear_on_any_instance_forgets_the_keys_marks_in_every_cycle(redis_prefix: str) -> None:
    async def go() -> tuple[CycleMarks, CycleMarks]:
        first, second = await _redis(redis_prefix), await _redis(redis_prefix)
        try:
            for tracking in ("m", "n"):
                await first.exhaust("p", tracking, "k1", NOW, WEEK)
                await first.exhaust("p", tracking, "k2", NOW, WEEK)
            await second.clear("p", "k1")  # the second instance never looked at these cycles
            await first.flush()
            return await first.cycle("p", "m"), await first.cycle("p", "n")
        finally:
            await first.stop()
            await second.stop()

    assert asyncio.run(go()) == (CycleMarks(NOW, {"k2": NOW}), CycleMarks(NOW, {"k2": NOW}))


async def every_cycle(store: Any) -> dict[str, CycleMarks]:
    await store.exhaust("p", "m", "k1", NOW, WEEK)
    await store.exhaust("p", "group:pro", "k2", NOW + 5, WEEK)
    await store.exhaust("q", "m", "k3", NOW, WEEK)
    await store.exhaust("p", "n", "k4", NOW, WEEK)
    await store.reset_cycle("p", "n", ["k4"], NOW + 6)
    return dict(await store.cycles("p"))


EVERY = {"m": CycleMarks(NOW, {"k1": NOW}), "group:pro": CycleMarks(NOW + 5, {"k2": NOW + 5})}


def test_every_cycle_of_a_provider_that_marks_a_key_is_listed_for_status() -> None:
    assert asyncio.run(every_cycle(MemoryStore())) == EVERY


def test_the_sqlite_store_lists_the_cycles_it_restored(tmp_path: Path) -> None:
    async def before(store: SqliteStore) -> None:
        await every_cycle(store)

    again = restart(tmp_path / "keyproxy.db", before)
    assert asyncio.run(again.cycles("p")) == EVERY


@needs_redis
def test_the_redis_store_lists_cycles_another_instance_marked(redis_prefix: str) -> None:
    async def go() -> tuple[dict[str, CycleMarks], dict[str, CycleMarks]]:
        first, second = await _redis(redis_prefix), await _redis(redis_prefix)
        try:
            await every_cycle(first)
            return await first.cycles("p"), await second.cycles("p")  # the second never asked about one
        finally:
            await first.stop()
            await second.stop()

    assert asyncio.run(go()) == (EVERY, EVERY)
