"""The capture writer: daily owner-only files, retention in days, a total size cap, and drops instead of errors."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from keyproxy.capture import CaptureWriter, Exchange, last_records

DAY = 86400.0
MONDAY = 1_764_547_200.0  # 2025-12-01 00:00 UTC


def ended(at: float, name: str = "x", body: bytes = b"") -> Exchange:
    item = Exchange(name, at, "POST", "/v1/chat/completions", b"", [], "", 10_000)
    item.request.add(body)
    item.close(0.01)
    return item


def write(tmp_path: Path, *items: Exchange, days: int = 7, total: int = 10**9) -> CaptureWriter:
    writer = CaptureWriter(tmp_path, lambda: (), retention_days=days, max_total_bytes=total)
    writer.open()
    for item in items:
        writer.put(item)
    writer.close()
    return writer


def test_exchanges_go_to_the_file_of_the_day_they_started(tmp_path: Path) -> None:
    write(tmp_path, ended(MONDAY + 10, "a"), ended(MONDAY + DAY + 10, "b"), ended(MONDAY + 20, "c"))
    folder = tmp_path / "captures"
    assert sorted(path.name for path in folder.iterdir()) == ["2025-12-01.jsonl", "2025-12-02.jsonl"]
    assert [record["id"] for record in last_records(folder, 10)] == ["a", "c", "b"]


def test_files_and_their_folder_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    write(tmp_path, ended(MONDAY))
    folder = tmp_path / "captures"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "2025-12-01.jsonl").stat().st_mode) == 0o600


def test_days_past_the_retention_are_deleted_when_a_new_day_starts(tmp_path: Path) -> None:
    write(tmp_path, ended(MONDAY, "old"), ended(MONDAY + 2 * DAY, "kept"), days=3)
    write(tmp_path, ended(MONDAY + 4 * DAY, "new"), days=3)
    assert sorted(path.name for path in (tmp_path / "captures").iterdir()) == ["2025-12-03.jsonl", "2025-12-05.jsonl"]


def test_past_the_total_size_the_oldest_days_are_deleted(tmp_path: Path) -> None:
    body = b"x" * 400
    write(tmp_path, ended(MONDAY, "first", body), ended(MONDAY + DAY, "second", body), total=1500)
    write(tmp_path, ended(MONDAY + 2 * DAY, "third", body), total=1500)
    assert [record["id"] for record in last_records(tmp_path / "captures", 10)] == ["second", "third"]


def test_an_exchange_that_does_not_fit_the_total_is_dropped_and_counted(tmp_path: Path) -> None:
    writer = write(tmp_path, ended(MONDAY, "small"), ended(MONDAY + 1, "big", b"x" * 5000), total=2000)
    assert (writer.written, writer.dropped) == (1, 1)


def test_an_unwritable_folder_drops_exchanges_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "captures").write_text("a file where the folder should be")
    with caplog.at_level(logging.WARNING, "keyproxy.capture"):
        writer = write(tmp_path, ended(MONDAY), ended(MONDAY + 1))
    assert (writer.written, writer.dropped) == (0, 2)
    dropping = [record for record in caplog.records if "dropping" in record.getMessage()]
    assert len(dropping) == 1


def test_a_full_queue_drops_the_exchange_without_waiting(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, lambda: (), retention_days=7, max_total_bytes=10**9, queue_size=1)
    writer.put(ended(MONDAY))
    writer.put(ended(MONDAY))
    assert writer.dropped == 1
    writer.open()
    writer.close()
    assert writer.written == 1


def test_keys_the_secrets_source_names_are_scrubbed_as_it_changes(tmp_path: Path) -> None:
    secrets = ["sk-first-key-000000001"]
    writer = CaptureWriter(tmp_path, lambda: secrets, retention_days=7, max_total_bytes=10**9)
    writer.open()
    writer.put(ended(MONDAY, "a", b"sk-first-key-000000001 sk-added-key-00000002"))
    writer.close()
    secrets.append("sk-added-key-00000002")
    writer.open()
    writer.put(ended(MONDAY, "b", b"sk-added-key-00000002"))
    writer.close()
    first, second = (record["request"]["body"]["text"] for record in last_records(tmp_path / "captures", 2))
    assert first == "...0001 sk-added-key-00000002" and second == "...0002"
