"""The SQLite file: opened in WAL mode, migrated to the current schema, moved aside when corrupt."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from keyproxy.errors import DatabaseUnavailable

logger = logging.getLogger("keyproxy.state")


# One script per schema version, in order; each runs in its own transaction and records its version.
# A released script is never edited: a change to the schema is a new script at the end.
_V1 = """
BEGIN IMMEDIATE;
CREATE TABLE usage_daily (
    day TEXT NOT NULL,
    provider TEXT NOT NULL,
    key_id TEXT NOT NULL,
    model TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,
    successes INTEGER NOT NULL DEFAULT 0,
    failed_rate_limited INTEGER NOT NULL DEFAULT 0,
    failed_quota_exhausted INTEGER NOT NULL DEFAULT 0,
    failed_key_rejected INTEGER NOT NULL DEFAULT 0,
    failed_transient INTEGER NOT NULL DEFAULT 0,
    failed_client_error INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cached_tokens INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens INTEGER NOT NULL DEFAULT 0,
    estimated INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    last_used REAL NOT NULL DEFAULT 0,
    first_byte_sum REAL NOT NULL DEFAULT 0,
    first_byte_count INTEGER NOT NULL DEFAULT 0,
    seconds_sum REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (day, provider, key_id, model)
) WITHOUT ROWID;
CREATE TABLE key_state (
    provider TEXT NOT NULL,
    key_id TEXT NOT NULL,
    benched_until REAL NOT NULL DEFAULT 0,
    bench_reason TEXT,
    last_seen REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (provider, key_id)
) WITHOUT ROWID;
CREATE TABLE cooldowns (
    provider TEXT NOT NULL,
    key_id TEXT NOT NULL,
    model TEXT NOT NULL,
    until REAL NOT NULL,
    reason TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (provider, key_id, model)
) WITHOUT ROWID;
CREATE TABLE sticky (
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    key_id TEXT NOT NULL,
    PRIMARY KEY (provider, model)
) WITHOUT ROWID;
INSERT INTO schema_version (version, applied_at) VALUES (1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
COMMIT;
"""

# Stored Responses-API responses: opaque records (they hold conversation content) until they expire.
_V2 = """
BEGIN IMMEDIATE;
CREATE TABLE responses (
    id TEXT NOT NULL PRIMARY KEY,
    record BLOB NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX responses_expiry ON responses (expires_at);
INSERT INTO schema_version (version, applied_at) VALUES (2, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
COMMIT;
"""

# What the file says of itself: which fingerprints name its keys (state/sqlite_rekey.py).
_V3 = """
BEGIN IMMEDIATE;
CREATE TABLE meta (
    name TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO schema_version (version, applied_at) VALUES (3, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
COMMIT;
"""

# Fair-cycle marks: the keys exhausted in each cycle, each row carrying its cycle's start.
_V4 = """
BEGIN IMMEDIATE;
CREATE TABLE fair_cycle (
    provider TEXT NOT NULL,
    tracking TEXT NOT NULL,
    key_id TEXT NOT NULL,
    exhausted_at REAL NOT NULL,
    cycle_start REAL NOT NULL,
    PRIMARY KEY (provider, tracking, key_id)
) WITHOUT ROWID;
INSERT INTO schema_version (version, applied_at) VALUES (4, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
COMMIT;
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4)
SCHEMA_VERSION = len(MIGRATIONS)

# Errors that say the file cannot be reached now, not that its content is bad: the file is kept.
_ENVIRONMENT = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PERM,
        sqlite3.SQLITE_AUTH,
    }
)


class _Corrupt(Exception):
    pass


def open_database(path: Path) -> sqlite3.Connection:
    """A connection for the calling thread only (sqlite3's default check), in autocommit mode: callers
    open their own transactions. A corrupt file is moved aside, logged, and replaced by a fresh one."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatabaseUnavailable(f"cannot create the state directory {path.parent}: {error}") from error
    with _opening(path):
        return _open_or_replace(path)


def _open_or_replace(path: Path) -> sqlite3.Connection:
    try:
        return _open(path)
    except (_Corrupt, sqlite3.Error) as error:
        if isinstance(error, sqlite3.Error) and _is_environment(error):
            raise DatabaseUnavailable(f"cannot open the state database {path}: {error}") from error
        moved = _move_aside(path)
        logger.error("state database %s is corrupt (%s); moved it to %s and started a fresh one", path, error, moved)
    try:
        return _open(path)
    except (_Corrupt, sqlite3.Error) as error:
        raise DatabaseUnavailable(f"cannot create a fresh state database {path}: {error}") from error


@contextlib.contextmanager
def _opening(path: Path) -> Iterator[None]:
    """One opener at a time across processes (workers, containers sharing a volume): two that migrated a new
    file together would each find the other's tables and take the file for a corrupt one."""
    try:
        descriptor = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise DatabaseUnavailable(f"cannot open the state database lock {path}.lock: {error}") from error
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _open(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL loses nothing on a process crash, only on power loss.
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA busy_timeout=5000")
        verdict = connection.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise _Corrupt(f"quick_check: {verdict}")
        _migrate(connection, path)
    except BaseException:
        connection.close()
        raise
    return connection


def _migrate(connection: sqlite3.Connection, path: Path) -> None:
    connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    current = schema_version(connection)
    if current > SCHEMA_VERSION:
        raise DatabaseUnavailable(
            f"the state database {path} has schema version {current}, newer than this keyproxy's {SCHEMA_VERSION}"
        )
    for script in MIGRATIONS[current:]:
        try:
            connection.executescript(script)
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise


def schema_version(connection: sqlite3.Connection) -> int:
    """The last migration applied."""
    version: int = connection.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
    return version


def _is_environment(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    # Extended codes carry the primary code in their low byte.
    return code is not None and (code & 0xFF) in _ENVIRONMENT


def _move_aside(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    moved = path.with_name(f"{path.name}.corrupt-{stamp}")
    serial = 1
    while moved.exists():
        serial += 1
        moved = path.with_name(f"{path.name}.corrupt-{stamp}-{serial}")
    try:
        path.rename(moved)
        # The WAL belongs to the file it was written for: keep the pair together for inspection.
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                side.rename(moved.with_name(moved.name + suffix))
    except OSError as error:
        raise DatabaseUnavailable(f"cannot move the corrupt state database {path} aside: {error}") from error
    return moved
