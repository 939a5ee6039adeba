"""Opening the state database: WAL, migrations, corrupt files moved aside, unusable paths reported."""

from __future__ import annotations

import logging
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from keyproxy.errors import DatabaseUnavailable, ErrorClass
from keyproxy.state.sqlite_db import SCHEMA_VERSION, open_database, schema_version
from keyproxy.usage.counters import FAILURE_COUNTERS, FLAT_COUNTERS

TABLES = {"schema_version", "usage_daily", "key_state", "cooldowns", "sticky", "responses", "meta", "fair_cycle"}


def tables(connection: sqlite3.Connection) -> set[str]:
    return {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_a_new_database_gets_every_table_and_records_its_version(tmp_path: Path) -> None:
    connection = open_database(tmp_path / "keyproxy.db")
    assert tables(connection) == TABLES
    assert schema_version(connection) == SCHEMA_VERSION == 4
    connection.close()


def test_reopening_applies_no_migration_twice(tmp_path: Path) -> None:
    open_database(tmp_path / "keyproxy.db").close()
    connection = open_database(tmp_path / "keyproxy.db")
    assert connection.execute("SELECT count(*) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    connection.close()


def test_the_database_is_in_wal_mode_with_normal_sync(tmp_path: Path) -> None:
    connection = open_database(tmp_path / "keyproxy.db")
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    connection.close()


def test_the_missing_data_directory_is_created(tmp_path: Path) -> None:
    open_database(tmp_path / "data" / "keyproxy.db").close()
    assert (tmp_path / "data" / "keyproxy.db").is_file()


def test_every_error_class_has_a_failure_column(tmp_path: Path) -> None:
    connection = open_database(tmp_path / "keyproxy.db")
    columns = {row[1] for row in connection.execute("PRAGMA table_info(usage_daily)")}
    connection.close()
    assert set(FAILURE_COUNTERS) == {reason.value for reason in ErrorClass}
    assert set(FAILURE_COUNTERS.values()) <= columns


def test_every_declared_counter_has_a_column(tmp_path: Path) -> None:
    connection = open_database(tmp_path / "keyproxy.db")
    columns = {row[1] for row in connection.execute("PRAGMA table_info(usage_daily)")}
    connection.close()
    assert {counter.name for counter in FLAT_COUNTERS} <= columns


def test_a_file_that_is_not_a_database_is_moved_aside_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "keyproxy.db"
    path.write_bytes(b"this is not sqlite at all " * 200)
    with caplog.at_level(logging.ERROR, logger="keyproxy.state"):
        open_database(path).close()
    moved = list(tmp_path.glob("keyproxy.db.corrupt-*"))
    assert len(moved) == 1 and moved[0].read_bytes().startswith(b"this is not sqlite")
    assert str(path) in caplog.text and str(moved[0]) in caplog.text
    assert [record.levelno for record in caplog.records] == [logging.ERROR]


def test_the_fresh_database_after_a_corrupt_one_is_usable(tmp_path: Path) -> None:
    path = tmp_path / "keyproxy.db"
    path.write_bytes(b"\x00garbage\xff" * 500)
    connection = open_database(path)
    connection.execute("INSERT INTO sticky VALUES ('p', 'm', 'k')")
    assert connection.execute("SELECT key_id FROM sticky").fetchall() == [("k",)]
    connection.close()


def test_a_schema_newer_than_this_keyproxy_is_unavailable_and_left_in_place(tmp_path: Path) -> None:
    path = tmp_path / "keyproxy.db"
    connection = open_database(path)
    connection.execute("INSERT INTO schema_version VALUES (99, 'later')")
    connection.close()
    with pytest.raises(DatabaseUnavailable, match="newer"):
        open_database(path)
    assert not list(tmp_path.glob("*.corrupt-*"))


def test_a_data_directory_that_cannot_be_created_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where the directory should be")
    with pytest.raises(DatabaseUnavailable, match="state directory"):
        open_database(tmp_path / "taken" / "keyproxy.db")


def test_a_database_path_that_cannot_be_opened_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "keyproxy.db").mkdir()
    with pytest.raises(DatabaseUnavailable, match="cannot open"):
        open_database(tmp_path / "keyproxy.db")


def test_openers_racing_on_a_new_file_all_get_it_and_none_takes_it_for_corrupt(tmp_path: Path) -> None:
    """As the workers of one supervisor, or containers sharing a volume, do at their first start."""
    for trial in range(10):
        path = tmp_path / f"trial-{trial}" / "keyproxy.db"
        start = threading.Barrier(6)

        def open_at_once(path: Path = path, start: threading.Barrier = start) -> int:
            start.wait()
            connection = open_database(path)
            try:
                return schema_version(connection)
            finally:
                connection.close()

        with ThreadPoolExecutor(6) as pool:
            versions = list(pool.map(lambda _: open_at_once(), range(6)))
        assert versions == [SCHEMA_VERSION] * 6
        assert not list(path.parent.glob("*corrupt*"))
