"""Reading the capture files back: the last exchanges across days, one by id, lines cut short skipped."""

from __future__ import annotations

import json
from pathlib import Path

from keyproxy.capture import find_record, last_records


def files(folder: Path, days: dict[str, list[str]]) -> Path:
    folder.mkdir()
    for day, ids in days.items():
        (folder / f"{day}.jsonl").write_text("".join(json.dumps({"id": name}) + "\n" for name in ids))
    return folder


def test_the_last_exchanges_span_days_oldest_first(tmp_path: Path) -> None:
    folder = files(tmp_path / "c", {"2025-12-01": ["a", "b", "c"], "2025-12-02": ["d"], "2025-12-03": ["e", "f"]})
    assert [record["id"] for record in last_records(folder, 4)] == ["c", "d", "e", "f"]


def test_an_exchange_is_found_by_its_id_in_any_day(tmp_path: Path) -> None:
    folder = files(tmp_path / "c", {"2025-12-01": ["20251202-x"], "2025-12-02": ["20251202-y"]})
    assert find_record(folder, "20251202-x") == {"id": "20251202-x"}
    assert find_record(folder, "20251202-z") is None


def test_a_line_cut_short_is_skipped(tmp_path: Path) -> None:
    folder = files(tmp_path / "c", {"2025-12-01": ["a"]})
    with (folder / "2025-12-01.jsonl").open("a") as file:
        file.write('{"id": "cut", "requ\n' + json.dumps({"id": "b"}) + "\n")
    assert [record["id"] for record in last_records(folder, 10)] == ["a", "b"]


def test_no_folder_means_no_exchanges(tmp_path: Path) -> None:
    assert last_records(tmp_path / "missing", 5) == [] and find_record(tmp_path / "missing", "x") is None
