"""A SQLite file's key state and usage moved from unkeyed key ids to keyed ones, once."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from keyproxy.state.fingerprints import SCHEME, Rekey
from keyproxy.state.sqlite_usage import MOVE_USAGE

_MARK = "fingerprints"

# Within one file a new id has no state before the move, so a clash can only be a row left by an
# interrupted move of the same key: replacing it is right.
_MOVES = (
    "UPDATE OR REPLACE key_state SET key_id = :new WHERE provider = :provider AND key_id = :old",
    "UPDATE OR REPLACE cooldowns SET key_id = :new WHERE provider = :provider AND key_id = :old",
    "UPDATE sticky SET key_id = :new WHERE provider = :provider AND key_id = :old",
    MOVE_USAGE,
    "DELETE FROM usage_daily WHERE provider = :provider AND key_id = :old",
)


_PAGE = 500
"""Kept responses read at a time: they hold whole conversations."""


def rekey(connection: sqlite3.Connection, rekey: Rekey) -> int:
    """Move every renamed key's rows to its new id, unless the file's ids are keyed already; the rows changed."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        if connection.execute("SELECT 1 FROM meta WHERE name = ?", (_MARK,)).fetchone() is not None:
            connection.execute("COMMIT")
            return 0
        before = connection.total_changes
        for (provider, old), new in rekey.renames.items():
            for statement in _MOVES:
                connection.execute(statement, {"provider": provider, "old": old, "new": new})
        if rekey.renames:
            _move_responses(connection, rekey.record)
        changed = connection.total_changes - before
        connection.execute("INSERT INTO meta (name, value) VALUES (?, ?)", (_MARK, SCHEME))
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return changed


def _move_responses(connection: sqlite3.Connection, rewrite: Callable[[bytes], bytes | None]) -> None:
    last = ""
    while page := connection.execute(
        "SELECT id, record FROM responses WHERE id > ? ORDER BY id LIMIT ?", (last, _PAGE)
    ).fetchall():
        for response_id, record in page:
            moved = rewrite(bytes(record))
            if moved is not None:
                connection.execute("UPDATE responses SET record = ? WHERE id = ?", (moved, response_id))
        last = page[-1][0]
