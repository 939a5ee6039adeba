"""Helpers for the SqliteStore tests: a clock the test steps, a writer that records, events, restarts."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from keyproxy.config.settings import StateSettings
from keyproxy.errors import ErrorClass
from keyproxy.events import AttemptEvent, Tokens
from keyproxy.state import KeyStatus, Verdict
from keyproxy.state.sqlite_db import MIGRATIONS, open_database
from keyproxy.state.sqlite_store import SqliteStore
from keyproxy.state.sqlite_writer import Batch, SqliteWriter
from keyproxy.testing import FakeClock
from keyproxy.usage.book import UsageBook

NOW = 1_700_000_000.0
DAY = 86400.0
DEFAULTS = StateSettings()
COOL = Verdict("model", NOW + 60, ErrorClass.RATE_LIMITED)
BENCH = Verdict("key", NOW + 600, ErrorClass.KEY_REJECTED)


class HeldClock(FakeClock):
    """A FakeClock whose sleep waits for the test, so the flush loop runs one round per `tick` only."""

    __slots__ = ("_parked", "_release")

    def __init__(self) -> None:
        super().__init__(NOW)
        self._parked = asyncio.Event()
        self._release = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self._parked.set()
        await self._release.wait()
        self._release.clear()
        self.advance(seconds)

    async def tick(self) -> None:
        """Wake the sleeper and wait until it has done its round and sleeps again."""
        await self._parked.wait()
        self._parked.clear()
        self._release.set()
        await self._parked.wait()


class SpyWriter(SqliteWriter):
    """Records each batch and the thread it ran on; fails the next `failures` batches."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        super().__init__(connection)
        self.batches: list[Batch] = []
        self.threads: list[str] = []
        self.failures = 0

    def apply(self, batch: Batch) -> None:
        self.threads.append(threading.current_thread().name)
        if self.failures:
            self.failures -= 1
            raise sqlite3.OperationalError("disk I/O error")
        self.batches.append(batch)
        super().apply(batch)


def spying(writers: list[SpyWriter]) -> Callable[[Path], SqliteWriter]:
    def opener(path: Path) -> SqliteWriter:
        writers.append(SpyWriter(open_database(path)))
        return writers[-1]

    return opener


def event(**overrides: Any) -> AttemptEvent:
    values: dict[str, Any] = {
        "provider": "p", "model": "m", "key_mask": "sk-a...1234", "attempt": 1, "status": 200, "outcome": None,
        "message": "", "seconds": 1.0, "key_id": "k", "at": NOW, "tokens": Tokens(prompt=10, completion=2),
    }  # fmt: skip
    return AttemptEvent(**{**values, **overrides})


def sqlite_store(path: Path, book: UsageBook | None = None, **options: Any) -> SqliteStore:
    """A SqliteStore with the default settings, unless `options` say otherwise."""
    defaults = {
        "interval": DEFAULTS.flush_interval, "retention_days": DEFAULTS.retention_days,
        "grace_seconds": DEFAULTS.prune_grace_days * DAY,
    }  # fmt: skip
    return SqliteStore(path, book or UsageBook(), **{**defaults, **options})


async def started(path: Path, clock: FakeClock | None = None, **options: Any) -> SqliteStore:
    store = sqlite_store(path, options.pop("book", None), **options)
    await store.start(clock or HeldClock())
    return store


def rows(path: Path, query: str) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


def restart(path: Path, before: Callable[[SqliteStore], Awaitable[None]], advance: float = 0.0) -> SqliteStore:
    """Runs `before` on one store, stops it, and returns a second store started on the same file."""

    async def go() -> SqliteStore:
        clock = HeldClock()
        first = await started(path, clock)
        await before(first)
        await first.stop()
        clock.advance(advance)
        second = await started(path, clock)
        await second.stop()  # the memory of a stopped store stays readable
        return second

    return asyncio.run(go())


def status(store: SqliteStore, key_id: str = "k", model: str = "m") -> KeyStatus:
    return asyncio.run(store.statuses("p", [key_id], model))[0]


def old_database(path: Path, batch: Batch) -> None:
    """A file as the keyproxy before keyed fingerprints left it: schema version 2, unkeyed ids."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    for script in MIGRATIONS[:2]:
        connection.executescript(script)
    SqliteWriter(connection).apply(batch)
    connection.close()


async def relay_to_redis(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: Callable[[bytes], None] | None = None,
    rewrite: Callable[[bytes], bytes] | None = None,
) -> None:  # fmt: skip
    """One client connection relayed to the real Redis on 6379, both ways; `seen` gets what the client sends,
    `rewrite` may change it on the way."""
    upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", 6379)
    await asyncio.gather(_pipe(reader, upstream_writer, seen, rewrite), _pipe(upstream_reader, writer))


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: Callable[[bytes], None] | None = None,
    rewrite: Callable[[bytes], bytes] | None = None,
) -> None:  # fmt: skip
    try:
        while data := await reader.read(65536):
            if seen is not None:
                seen(data)
            writer.write(data if rewrite is None else rewrite(data))
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()
