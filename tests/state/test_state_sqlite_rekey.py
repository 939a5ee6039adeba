"""A state file written before fingerprints were keyed, opened now: its state moved to the keyed ids, once."""

from __future__ import annotations

import asyncio
import sqlite3
from functools import partial
from pathlib import Path

import msgspec

from keyproxy.api.stored_responses import Stored, rekeyed
from keyproxy.errors import ErrorClass
from keyproxy.redact import unkeyed_fingerprint
from keyproxy.state.fingerprints import Rekey, key_renames
from keyproxy.state.sqlite_journal import BenchSet, CooldownSet, ResponseStored, StickySet
from keyproxy.state.sqlite_store import SqliteStore
from keyproxy.state.sqlite_writer import Batch, SqliteWriter
from keyproxy.usage.book import UsageKey, UsageRows
from keyproxy.usage.counters import UsageCounters
from state.state_support import NOW, old_database, rows, started
from support import IDS
from usage.usage_support import every_counter_set

A, B, GONE = "sk-first-key-0000000000000000001", "sk-second-key-000000000000000002", "sk-gone-key-0000000000000003"
OLD_A, OLD_B, OLD_GONE = (unkeyed_fingerprint(key) for key in (A, B, GONE))
DAY = "2023-11-14"
RENAMES = key_renames([("p", A), ("p", B)], IDS)
MOVES = Rekey(RENAMES, partial(rekeyed, renames=RENAMES))


def counters(requests: int) -> UsageCounters:
    return UsageCounters.from_flat({"requests": requests, "successes": requests, "last_used": NOW})


OLD_STATE = Batch(
    usage={
        UsageKey(DAY, "p", OLD_A, "m"): every_counter_set(),
        UsageKey(DAY, "p", OLD_A, "n"): counters(2),
        UsageKey(DAY, "p", OLD_B, "m"): counters(3),
        UsageKey(DAY, "p", OLD_GONE, "m"): counters(4),
    },
    changes=(
        CooldownSet("p", OLD_A, "m", NOW + 60, ErrorClass.RATE_LIMITED, 2),
        BenchSet("p", OLD_B, NOW + 600, ErrorClass.KEY_REJECTED),
        StickySet("p", "m", OLD_A),
        ResponseStored("resp_native", msgspec.json.encode(Stored("p", "m", key_id=OLD_A)), NOW + 3600),
        ResponseStored("resp_translated", msgspec.json.encode(Stored("p", "m", previous="resp_0")), NOW + 3600),
    ),
)


def opened(path: Path) -> tuple[SqliteStore, UsageRows]:
    async def go() -> tuple[SqliteStore, UsageRows]:
        store = await started(path, rekey=MOVES, configured={("p", IDS(A)), ("p", IDS(B))})
        usage = await store.usage()
        await store.stop()  # the memory of a stopped store stays readable
        return store, usage

    return asyncio.run(go())


def test_cooldowns_benches_and_sticky_keys_are_found_under_the_keyed_ids(tmp_path: Path) -> None:
    old_database(tmp_path / "keyproxy.db", OLD_STATE)
    store, _ = opened(tmp_path / "keyproxy.db")
    first, second = asyncio.run(store.statuses("p", [IDS(A), IDS(B)], "m"))
    assert (first.cooldown_until, first.failures, second.benched_until) == (NOW + 60, 2, NOW + 600)
    assert asyncio.run(store.sticky("p", "m")) == IDS(A)
    assert rows(tmp_path / "keyproxy.db", "SELECT key_id FROM cooldowns") == [(IDS(A),)]
    assert rows(tmp_path / "keyproxy.db", "SELECT key_id FROM key_state WHERE benched_until > 0") == [(IDS(B),)]


async def kept(path: Path, response_id: str) -> bytes | None:
    store = await started(path)
    found = await store.get_response(response_id, NOW)
    await store.stop()
    return found


def test_a_kept_response_bound_to_a_key_names_the_keyed_id(tmp_path: Path) -> None:
    old_database(tmp_path / "keyproxy.db", OLD_STATE)
    opened(tmp_path / "keyproxy.db")
    # Read back from the file: the stopped store holds no response in memory.
    native, translated = (asyncio.run(kept(tmp_path / "keyproxy.db", n)) for n in ("resp_native", "resp_translated"))
    assert native is not None and msgspec.json.decode(native, type=Stored).key_id == IDS(A)
    assert translated == msgspec.json.encode(Stored("p", "m", previous="resp_0"))


def test_usage_rows_move_with_every_counter_and_the_totals_stay_the_same(tmp_path: Path) -> None:
    old_database(tmp_path / "keyproxy.db", OLD_STATE)
    _, usage = opened(tmp_path / "keyproxy.db")
    assert dict(usage) == {
        UsageKey(DAY, "p", IDS(A), "m"): every_counter_set(),
        UsageKey(DAY, "p", IDS(A), "n"): counters(2),
        UsageKey(DAY, "p", IDS(B), "m"): counters(3),
        # A key no longer configured cannot be mapped: its rows keep their old id.
        UsageKey(DAY, "p", OLD_GONE, "m"): counters(4),
    }


def test_a_row_already_under_the_keyed_id_is_added_to(tmp_path: Path) -> None:
    both = Batch(usage={UsageKey(DAY, "p", OLD_B, "m"): counters(3), UsageKey(DAY, "p", IDS(B), "m"): counters(5)})
    old_database(tmp_path / "keyproxy.db", both)
    _, usage = opened(tmp_path / "keyproxy.db")
    assert usage == [(UsageKey(DAY, "p", IDS(B), "m"), counters(8))]


def test_state_is_moved_once(tmp_path: Path) -> None:
    old_database(tmp_path / "keyproxy.db", Batch(usage={UsageKey(DAY, "p", OLD_B, "m"): counters(3)}))
    opened(tmp_path / "keyproxy.db")
    # Written under an unkeyed id after the move (nothing does so): a second start leaves it where it is.
    connection = sqlite3.connect(tmp_path / "keyproxy.db", isolation_level=None)
    SqliteWriter(connection).apply(Batch(usage={UsageKey(DAY, "p", OLD_B, "m"): counters(1)}))
    connection.close()
    _, usage = opened(tmp_path / "keyproxy.db")
    assert dict(usage) == {UsageKey(DAY, "p", IDS(B), "m"): counters(3), UsageKey(DAY, "p", OLD_B, "m"): counters(1)}
