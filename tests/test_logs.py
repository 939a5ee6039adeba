"""Logging set-up: the file beside stderr, what happens when the file cannot be written, and deferred lines."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from keyproxy.logs import DeferredLines, Stamp, configure_logging


@pytest.fixture
def restored_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restored_root")
def test_a_log_file_that_cannot_be_opened_leaves_logging_on_stderr_with_one_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "keyproxy.log").mkdir()  # where the file should be, something that is not a file

    stop = configure_logging("INFO", [], tmp_path)
    logging.getLogger("keyproxy.test").info("still logging")
    stop()

    err = capsys.readouterr().err
    assert "cannot write the log file" in err and "still logging" in err


@pytest.mark.usefixtures("restored_root")
def test_records_go_to_the_file_too(tmp_path: Path) -> None:
    stop = configure_logging("INFO", ["sk-secret-0123456789"], tmp_path)
    logging.getLogger("keyproxy.test").info("key sk-secret-0123456789 used")
    stop()

    written = (tmp_path / "keyproxy.log").read_text()
    assert "key ...6789 used" in written



def lines_in(path: Path) -> list[str]:
    return path.read_text().splitlines()


STAMP = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(0))


@pytest.mark.usefixtures("restored_root")
def test_deferred_lines_are_written_with_the_usual_prefix_and_secrets_masked(tmp_path: Path) -> None:
    stop = configure_logging("INFO", ["sk-secret-0123456789"], tmp_path)
    lines = DeferredLines("keyproxy.access")

    async def log() -> None:
        lines.add(0.25, "first line")
        lines.add(0.0, "key sk-secret-0123456789 seen")
        lines.flush()

    asyncio.run(log())
    stop()

    assert lines_in(tmp_path / "keyproxy.log") == [
        f"{STAMP},250 INFO keyproxy.access: first line",
        f"{STAMP},000 INFO keyproxy.access: key ...6789 seen",
    ]


@pytest.mark.usefixtures("restored_root")
def test_a_bare_deferred_line_is_written_as_it_is(tmp_path: Path) -> None:
    stop = configure_logging("INFO", [], tmp_path)
    lines = DeferredLines("keyproxy.access", bare=True)

    async def log() -> None:
        lines.add(0.0, '{"status": 200}')
        lines.flush()

    asyncio.run(log())
    stop()

    assert lines_in(tmp_path / "keyproxy.log") == ['{"status": 200}']


@pytest.mark.usefixtures("restored_root")
def test_gathered_lines_go_to_the_logging_thread_when_the_loops_timer_fires(tmp_path: Path) -> None:
    stop = configure_logging("INFO", [], tmp_path)
    lines = DeferredLines("keyproxy.access", bare=True, every=0)

    async def log() -> None:
        for n in range(3):
            lines.add(0.0, f"line {n}")
        for _ in range(2):
            await asyncio.sleep(0)  # one turn of the loop runs the timer's callback

    asyncio.run(log())
    stop()

    assert lines_in(tmp_path / "keyproxy.log") == ["line 0", "line 1", "line 2"]


def test_without_logging_set_up_a_deferred_line_is_logged_at_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="keyproxy.access"):
        DeferredLines("keyproxy.access").add(0.0, "now")

    assert [(record.name, record.getMessage()) for record in caplog.records] == [("keyproxy.access", "now")]


def test_a_stamp_matches_the_formatters_asctime_and_iso_8601_in_utc() -> None:
    stamp = Stamp()
    at = 1_764_460_000.25

    assert stamp(at) == time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at)) + ",250"
    assert stamp.iso(at) == "2025-11-29T23:46:40.250+00:00"
    assert stamp.iso(at + 1.5) == "2025-11-29T23:46:41.750+00:00"
