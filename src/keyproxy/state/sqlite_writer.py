"""Everything that touches the SQLite connection, run on one dedicated thread, never on the event loop."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from keyproxy.errors import ErrorClass
from keyproxy.state.fingerprints import Rekey
from keyproxy.state.sqlite_db import open_database
from keyproxy.state.sqlite_journal import (
    BenchCleared,
    BenchSet,
    Change,
    CooldownCleared,
    CooldownSet,
    CycleSet,
    Lifted,
    ResponseDeleted,
    ResponseStored,
    StickySet,
    Touched,
)
from keyproxy.state.sqlite_rekey import rekey
from keyproxy.state.sqlite_usage import select_usage, upsert_usage
from keyproxy.usage.book import UsageKey, UsageRows
from keyproxy.usage.counters import UsageCounters


@dataclass(frozen=True, slots=True)
class Batch:
    """One flush: usage to add and state changes to apply in order, written in one transaction."""

    usage: Mapping[UsageKey, UsageCounters] = field(default_factory=dict)
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True, slots=True)
class Loaded:
    """The state worth restoring at start: what has not expired yet, and the sticky keys."""

    cooldowns: tuple[CooldownSet, ...]
    benches: tuple[BenchSet, ...]
    sticky: tuple[StickySet, ...]
    cycles: tuple[CycleSet, ...] = ()


_STATEMENTS: Mapping[type, str] = {
    CooldownSet: """
        INSERT INTO cooldowns (provider, key_id, model, until, reason, failures)
        VALUES (:provider, :key_id, :model, :until, :reason, :failures)
        ON CONFLICT (provider, key_id, model) DO UPDATE SET
            until = excluded.until, reason = excluded.reason, failures = excluded.failures""",
    CooldownCleared: "DELETE FROM cooldowns WHERE provider = :provider AND key_id = :key_id AND model = :model",
    BenchSet: """
        INSERT INTO key_state (provider, key_id, benched_until, bench_reason)
        VALUES (:provider, :key_id, :until, :reason)
        ON CONFLICT (provider, key_id) DO UPDATE SET
            benched_until = excluded.benched_until, bench_reason = excluded.bench_reason""",
    BenchCleared: """
        UPDATE key_state SET benched_until = 0, bench_reason = NULL
        WHERE provider = :provider AND key_id = :key_id""",
    StickySet: """
        INSERT INTO sticky (provider, model, key_id) VALUES (:provider, :model, :key_id)
        ON CONFLICT (provider, model) DO UPDATE SET key_id = excluded.key_id""",
    Touched: """
        INSERT INTO key_state (provider, key_id, last_seen) VALUES (:provider, :key_id, :at)
        ON CONFLICT (provider, key_id) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)""",
    ResponseStored: """
        INSERT INTO responses (id, record, expires_at) VALUES (:response_id, :record, :expires_at)
        ON CONFLICT (id) DO UPDATE SET record = excluded.record, expires_at = excluded.expires_at""",
    ResponseDeleted: "DELETE FROM responses WHERE id = :response_id",
}

_LIFT = (
    "DELETE FROM cooldowns WHERE provider = :provider AND (:key_id IS NULL OR key_id = :key_id)",
    "DELETE FROM fair_cycle WHERE provider = :provider AND (:key_id IS NULL OR key_id = :key_id)",
    """UPDATE key_state SET benched_until = 0, bench_reason = NULL
       WHERE provider = :provider AND (:key_id IS NULL OR key_id = :key_id)""",
)

def _stale(table: str) -> str:
    """Delete the rows of `table` (a name from this module, never input) whose key is stale."""
    return f"""DELETE FROM {table} WHERE NOT EXISTS (
            SELECT 1 FROM temp.configured c
            WHERE c.provider = {table}.provider AND c.key_id = {table}.key_id
        ) AND NOT EXISTS (
            SELECT 1 FROM key_state s
            WHERE s.provider = {table}.provider AND s.key_id = {table}.key_id AND s.last_seen >= :cutoff
        )"""  # noqa: S608


# A key's state is stale when the key is not configured and was not seen since the cutoff; a key
# with no key_state row was never seen. key_state goes last: the others read its last_seen.
_PRUNE = (
    "DELETE FROM usage_daily WHERE day < :oldest_day",
    "DELETE FROM cooldowns WHERE until <= :now",
    "DELETE FROM responses WHERE expires_at <= :now",
    "UPDATE key_state SET benched_until = 0, bench_reason = NULL WHERE benched_until > 0 AND benched_until <= :now",
    *(_stale(table) for table in ("cooldowns", "sticky", "fair_cycle")),
    """DELETE FROM key_state WHERE last_seen < :cutoff AND NOT EXISTS (
            SELECT 1 FROM temp.configured c
            WHERE c.provider = key_state.provider AND c.key_id = key_state.key_id
        )""",
)


_CONFIGURED = "CREATE TEMP TABLE IF NOT EXISTS configured (provider TEXT, key_id TEXT, PRIMARY KEY (provider, key_id))"


class SqliteWriter:
    """Owns one connection; every method must run on the thread that opened it (sqlite3 checks)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    @classmethod
    def open(cls, path: Path) -> SqliteWriter:
        return cls(open_database(path))

    def apply(self, batch: Batch) -> None:
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            upsert_usage(connection, batch.usage)
            for change in batch.changes:
                if isinstance(change, Lifted):
                    for statement in _LIFT:
                        connection.execute(statement, {"provider": change.provider, "key_id": change.key_id})
                elif isinstance(change, CycleSet):
                    _write_cycle(connection, change)
                else:
                    connection.execute(_STATEMENTS[type(change)], _params(change))
            connection.execute("COMMIT")
        except BaseException:
            # Some errors (a full disk) have already rolled the transaction back.
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    def rekey(self, moves: Rekey) -> int:
        """Move state kept under unkeyed key ids to keyed ones, once per file; the rows changed."""
        return rekey(self._connection, moves)

    def load(self, now: float) -> Loaded:
        connection = self._connection
        cooldowns = tuple(
            CooldownSet(provider, key_id, model, until, reason, failures)
            for provider, key_id, model, until, text, failures in connection.execute(
                "SELECT provider, key_id, model, until, reason, failures FROM cooldowns WHERE until > ?", (now,)
            )
            if (reason := _reason(text)) is not None
        )
        benches = tuple(
            BenchSet(provider, key_id, until, reason)
            for provider, key_id, until, text in connection.execute(
                "SELECT provider, key_id, benched_until, bench_reason FROM key_state WHERE benched_until > ?", (now,)
            )
            if (reason := _reason(text)) is not None
        )
        sticky = tuple(
            StickySet(provider, model, key_id)
            for provider, model, key_id in connection.execute("SELECT provider, model, key_id FROM sticky")
        )
        cycles: dict[tuple[str, str], list[tuple[str, float, float]]] = {}
        for provider, tracking, key_id, at, start in connection.execute(
            "SELECT provider, tracking, key_id, exhausted_at, cycle_start FROM fair_cycle"
        ):
            cycles.setdefault((provider, tracking), []).append((key_id, at, start))
        loaded = tuple(
            CycleSet(provider, tracking, max(start for *_, start in rows), tuple((key, at) for key, at, _ in rows))
            for (provider, tracking), rows in cycles.items()
        )
        return Loaded(cooldowns, benches, sticky, loaded)

    def usage(
        self, provider: str | None = None, model: str | None = None, since: str | None = None, until: str | None = None
    ) -> UsageRows:
        return select_usage(self._connection, provider, model, since, until)

    def response(self, response_id: str, now: float) -> bytes | None:
        found = self._connection.execute(
            "SELECT record FROM responses WHERE id = ? AND expires_at > ?", (response_id, now)
        ).fetchone()
        return None if found is None else bytes(found[0])

    def prune(self, now: float, retention_days: int, configured: Set[tuple[str, str]], grace_seconds: float) -> int:
        """Deletes usage older than `retention_days` days before today (UTC), expired cooldowns, benches and
        stored responses, and the state of keys not configured and not seen for `grace_seconds`; returns the
        rows changed."""
        connection = self._connection
        oldest_day = datetime.fromtimestamp(now - retention_days * 86400.0, UTC).strftime("%Y-%m-%d")
        params = {"oldest_day": oldest_day, "now": now, "cutoff": now - grace_seconds}
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute(_CONFIGURED)
            connection.execute("DELETE FROM temp.configured")
            connection.executemany("INSERT OR IGNORE INTO temp.configured VALUES (?, ?)", configured)
            changed_before = connection.total_changes
            for statement in _PRUNE:
                connection.execute(statement, params)
            pruned = connection.total_changes - changed_before
            connection.execute("COMMIT")
        except BaseException:
            # Some errors (a full disk) have already rolled the transaction back.
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return pruned

    def close(self) -> None:
        self._connection.close()


def _write_cycle(connection: sqlite3.Connection, change: CycleSet) -> None:
    connection.execute(
        "DELETE FROM fair_cycle WHERE provider = ? AND tracking = ?", (change.provider, change.tracking)
    )
    connection.executemany(
        "INSERT INTO fair_cycle (provider, tracking, key_id, exhausted_at, cycle_start) VALUES (?, ?, ?, ?, ?)",
        [(change.provider, change.tracking, key_id, at, change.start) for key_id, at in change.exhausted],
    )


def _params(change: Change) -> dict[str, object]:
    params = {item.name: getattr(change, item.name) for item in dataclasses.fields(change)}
    reason = params.get("reason")
    if isinstance(reason, ErrorClass):
        params["reason"] = reason.value
    return params


def _reason(text: str | None) -> ErrorClass | None:
    # A reason written by a newer keyproxy is skipped rather than guessed.
    try:
        return ErrorClass(text)
    except ValueError:
        return None
