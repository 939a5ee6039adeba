"""The capture files: `captures/YYYY-MM-DD.jsonl` in the data dir, one per UTC day, read newest last."""

from __future__ import annotations

import json
import re
import time
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

FOLDER = "captures"
_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})\.jsonl$")


def day_of(at: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(at))


def file_for(folder: Path, day: str) -> Path:
    return folder / f"{day}.jsonl"


def day_files(folder: Path) -> list[tuple[str, Path]]:
    """(day, path) of every capture file, oldest first."""
    if not folder.is_dir():
        return []
    found = [(match.group(1), path) for path in folder.iterdir() if (match := _NAME.match(path.name))]
    return sorted(found)


def records(path: Path) -> Iterator[dict[str, Any]]:
    """Each exchange in a file; a line cut short (being written, or the disk filled) is skipped."""
    with path.open("rb") as lines:
        yield from _decoded(lines)


def last_records(folder: Path, count: int) -> list[dict[str, Any]]:
    """The last `count` exchanges written, oldest first; only those lines are decoded."""
    collected: list[dict[str, Any]] = []
    for _, path in reversed(day_files(folder)):
        if len(collected) >= count:
            break
        with path.open("rb") as lines:
            tail = deque(lines, maxlen=count - len(collected))
        collected = [*_decoded(tail), *collected]
    return collected[-count:] if count > 0 else []


def _decoded(lines: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            yield record


def find_record(folder: Path, exchange_id: str) -> dict[str, Any] | None:
    """The exchange with this id: in its day's file (the id starts with the day), else in any."""
    files = day_files(folder)
    day = exchange_id[:8]
    files.sort(key=lambda item: item[0].replace("-", "") != day)
    for _, path in files:
        for record in records(path):
            if record.get("id") == exchange_id:
                return record
    return None
