"""The writer applies batches in one transaction, loads live state and prunes, on a real SQLite file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from keyproxy.errors import ErrorClass
from keyproxy.state.sqlite_journal import (
    BenchCleared,
    BenchSet,
    CooldownCleared,
    CooldownSet,
    Lifted,
    StickySet,
    Touched,
)
from keyproxy.state.sqlite_writer import Batch, SqliteWriter
from keyproxy.usage.book import UsageKey
from keyproxy.usage.counters import UsageCounters

NOW = 1_700_000_000.0  # 2023-11-14
DAY = 86400.0
KEY = UsageKey("2023-11-14", "openai", "abc123abc123", "gpt-4o")
RATE = ErrorClass.RATE_LIMITED


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[SqliteWriter]:
    opened = SqliteWriter.open(tmp_path / "keyproxy.db")
    yield opened
    opened.close()


def test_usage_of_two_batches_adds_up(writer: SqliteWriter) -> None:
    first = UsageCounters(requests=2, successes=1, failures={"transient": 1}, prompt_tokens=10, cost_usd=0.5)
    second = UsageCounters(requests=3, successes=3, prompt_tokens=5, cost_usd=0.25, first_byte_sum=1.5)
    writer.apply(Batch({KEY: first}))
    writer.apply(Batch({KEY: second}))
    [(key, total)] = writer.usage()
    assert key == KEY
    assert (total.requests, total.successes, total.failures, total.prompt_tokens) == (5, 4, {"transient": 1}, 15)
    assert (total.cost_usd, total.first_byte_sum) == (0.75, 1.5)


def test_usage_keeps_the_latest_last_used(writer: SqliteWriter) -> None:
    writer.apply(Batch({KEY: UsageCounters(requests=1, last_used=NOW + 9)}))
    writer.apply(Batch({KEY: UsageCounters(requests=1, last_used=NOW)}))
    assert writer.usage()[0][1].last_used == NOW + 9


def test_usage_is_filtered_by_provider_model_and_inclusive_days(writer: SqliteWriter) -> None:
    keys = [UsageKey(day, provider, "k", "m") for day in ("2024-01-01", "2024-01-02") for provider in ("a", "b")]
    writer.apply(Batch(dict.fromkeys(keys, UsageCounters(requests=1))))
    rows = writer.usage(provider="b", model="m", since="2024-01-02", until="2024-01-02")
    assert [key for key, _ in rows] == [UsageKey("2024-01-02", "b", "k", "m")]


def test_load_restores_cooldowns_benches_and_sticky_keys_still_in_the_future(writer: SqliteWriter) -> None:
    writer.apply(
        Batch(
            changes=(
                CooldownSet("p", "k1", "m", NOW + 60, RATE, 2),
                CooldownSet("p", "k2", "m", NOW - 1, RATE, 1),
                BenchSet("p", "k3", NOW + 600, ErrorClass.KEY_REJECTED),
                BenchSet("p", "k4", NOW - 1, ErrorClass.KEY_REJECTED),
                StickySet("p", "m", "k1"),
            )
        )
    )
    loaded = writer.load(NOW)
    assert loaded.cooldowns == (CooldownSet("p", "k1", "m", NOW + 60, RATE, 2),)
    assert loaded.benches == (BenchSet("p", "k3", NOW + 600, ErrorClass.KEY_REJECTED),)
    assert loaded.sticky == (StickySet("p", "m", "k1"),)


def test_changes_apply_in_order(writer: SqliteWriter) -> None:
    writer.apply(
        Batch(
            changes=(
                CooldownSet("p", "k", "m", NOW + 60, RATE, 1),
                CooldownCleared("p", "k", "m"),
                BenchSet("p", "k", NOW + 60, ErrorClass.KEY_REJECTED),
                BenchCleared("p", "k"),
                StickySet("p", "m", "k1"),
                StickySet("p", "m", "k2"),
            )
        )
    )
    loaded = writer.load(NOW)
    assert (loaded.cooldowns, loaded.benches, loaded.sticky) == ((), (), (StickySet("p", "m", "k2"),))


def test_a_lift_clears_cooldowns_and_benches_of_that_key_only(writer: SqliteWriter) -> None:
    writer.apply(
        Batch(
            changes=(
                CooldownSet("p", "k1", "m", NOW + 60, RATE, 1),
                BenchSet("p", "k1", NOW + 60, ErrorClass.KEY_REJECTED),
                CooldownSet("p", "k2", "m", NOW + 60, RATE, 1),
                Lifted("p", "k1"),
            )
        )
    )
    loaded = writer.load(NOW)
    assert ([c.key_id for c in loaded.cooldowns], loaded.benches) == (["k2"], ())


def test_a_lift_of_every_key_clears_the_whole_provider(writer: SqliteWriter) -> None:
    changes = (CooldownSet("p", "k1", "m", NOW + 60, RATE, 1), CooldownSet("q", "k2", "m", NOW + 60, RATE, 1))
    writer.apply(Batch(changes=(*changes, Lifted("p", None))))
    assert [c.provider for c in writer.load(NOW).cooldowns] == ["q"]


def test_a_batch_that_fails_part_way_writes_nothing(writer: SqliteWriter) -> None:
    writer.apply(Batch(changes=(StickySet("p", "m", "k"),)))
    unbindable = StickySet("p", "m", object())  # type: ignore[arg-type]
    with pytest.raises(sqlite3.ProgrammingError):
        writer.apply(Batch({KEY: UsageCounters(requests=1)}, (StickySet("p", "m", "k2"), unbindable)))
    assert writer.usage() == []
    assert writer.load(NOW).sticky == (StickySet("p", "m", "k"),)


def test_prune_deletes_usage_older_than_the_retention(writer: SqliteWriter) -> None:
    days = ("2023-08-15", "2023-08-16", "2023-11-14")  # 90 days before 2023-11-14 is 2023-08-16
    writer.apply(Batch({UsageKey(day, "p", "k", "m"): UsageCounters(requests=1) for day in days}))
    writer.prune(NOW, retention_days=90, configured={("p", "k")}, grace_seconds=7 * DAY)
    assert [key.day for key, _ in writer.usage()] == ["2023-08-16", "2023-11-14"]


def test_prune_forgets_keys_no_longer_configured_and_not_seen_within_the_grace(writer: SqliteWriter) -> None:
    writer.apply(
        Batch(
            changes=(
                Touched("p", "gone", NOW - 8 * DAY),
                BenchSet("p", "gone", NOW + DAY, ErrorClass.KEY_REJECTED),
                CooldownSet("p", "gone", "m", NOW + DAY, RATE, 1),
                StickySet("p", "m", "gone"),
            )
        )
    )
    writer.prune(NOW, retention_days=90, configured={("p", "kept")}, grace_seconds=7 * DAY)
    loaded = writer.load(NOW)
    assert (loaded.cooldowns, loaded.benches, loaded.sticky) == ((), (), ())


def test_prune_keeps_state_of_configured_keys(writer: SqliteWriter) -> None:
    changes = (Touched("p", "k", NOW - 30 * DAY), CooldownSet("p", "k", "m", NOW + DAY, RATE, 1))
    writer.apply(Batch(changes=changes))
    writer.prune(NOW, retention_days=90, configured={("p", "k")}, grace_seconds=7 * DAY)
    assert len(writer.load(NOW).cooldowns) == 1


def test_prune_keeps_state_of_unconfigured_keys_seen_within_the_grace(writer: SqliteWriter) -> None:
    changes = (Touched("p", "k", NOW - DAY), CooldownSet("p", "k", "m", NOW + DAY, RATE, 1))
    writer.apply(Batch(changes=changes))
    writer.prune(NOW, retention_days=90, configured=set(), grace_seconds=7 * DAY)
    assert len(writer.load(NOW).cooldowns) == 1


def test_prune_deletes_expired_cooldowns_and_reports_how_many_rows_changed(writer: SqliteWriter) -> None:
    ended, lasting = CooldownSet("p", "k", "m", NOW - 1, RATE, 1), CooldownSet("p", "k", "n", NOW + 9, RATE, 1)
    writer.apply(Batch(changes=(ended, lasting)))
    pruned = writer.prune(NOW, retention_days=90, configured={("p", "k")}, grace_seconds=7 * DAY)
    assert pruned == 1
