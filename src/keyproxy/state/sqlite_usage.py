"""Usage rows in SQLite: the adding upsert, the query, and a read-only reader for the CLI."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

from keyproxy.errors import DatabaseUnavailable
from keyproxy.usage.book import UsageKey, UsageRows
from keyproxy.usage.counters import FLAT_COUNTERS, Merge, UsageCounters

# Every name below comes from the declarations of UsageKey and UsageCounters, never from input.
_KEY = UsageKey.__struct_fields__
_COLUMNS = tuple(counter.name for counter in FLAT_COUNTERS)
_MERGED = {Merge.SUM: "{0} = {0} + excluded.{0}", Merge.LATEST: "{0} = max({0}, excluded.{0})"}
_NEXT = ",\n    "

UPSERT_USAGE = f"""
INSERT INTO usage_daily ({", ".join(_KEY + _COLUMNS)})
VALUES ({", ".join(":" + name for name in _KEY + _COLUMNS)})
ON CONFLICT ({", ".join(_KEY)}) DO UPDATE SET
    {_NEXT.join(_MERGED[counter.merge].format(counter.name) for counter in FLAT_COUNTERS)}
"""  # noqa: S608

MOVE_USAGE = f"""
INSERT INTO usage_daily ({", ".join(_KEY + _COLUMNS)})
SELECT {", ".join(":new" if name == "key_id" else name for name in _KEY + _COLUMNS)}
FROM usage_daily WHERE provider = :provider AND key_id = :old
ON CONFLICT ({", ".join(_KEY)}) DO UPDATE SET
    {_NEXT.join(_MERGED[counter.merge].format(counter.name) for counter in FLAT_COUNTERS)}
"""  # noqa: S608
"""A key's rows under its new id, added to any already there; its old rows are deleted after."""

_SELECT_USAGE = f"""
SELECT {", ".join(_KEY + _COLUMNS)}
FROM usage_daily
WHERE (:provider IS NULL OR provider = :provider)
    AND (:model IS NULL OR model = :model)
    AND (:since IS NULL OR day >= :since)
    AND (:until IS NULL OR day <= :until)
ORDER BY {", ".join(_KEY)}
"""  # noqa: S608

_HAS_USAGE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'usage_daily'"


def usage_params(key: UsageKey, counters: UsageCounters) -> dict[str, Any]:
    return {**msgspec.structs.asdict(key), **counters.flat()}


def upsert_usage(connection: sqlite3.Connection, usage: Mapping[UsageKey, UsageCounters]) -> None:
    """Adds to the stored counters; the caller holds the transaction."""
    connection.executemany(UPSERT_USAGE, [usage_params(key, counters) for key, counters in usage.items()])


def select_usage(
    connection: sqlite3.Connection,
    provider: str | None = None,
    model: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> UsageRows:
    """Stored rows matching every filter given; `since` and `until` are UTC days, both inclusive."""
    filters = {"provider": provider, "model": model, "since": since, "until": until}
    return [_row(values) for values in connection.execute(_SELECT_USAGE, filters)]


def _row(values: Sequence[Any]) -> tuple[UsageKey, UsageCounters]:
    key, counts = values[: len(_KEY)], values[len(_KEY) :]
    return UsageKey(*key), UsageCounters.from_flat(dict(zip(_COLUMNS, counts, strict=True)))


def read_usage(
    path: Path,
    provider: str | None = None,
    model: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> UsageRows:
    """Stored usage for the CLI, read-only and safe while a proxy writes the file; a missing file is no usage.
    Raises DatabaseUnavailable when the file cannot be read."""
    if not path.exists():
        return []
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise DatabaseUnavailable(f"cannot read the state database {path}: {error}") from error
    try:
        if connection.execute(_HAS_USAGE).fetchone() is None:
            return []  # no proxy has migrated this file yet
        return select_usage(connection, provider, model, since, until)
    except sqlite3.Error as error:
        raise DatabaseUnavailable(f"cannot read the state database {path}: {error}") from error
    finally:
        connection.close()
