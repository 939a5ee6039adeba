"""Logging set-up: the file beside stderr, what happens when the file cannot be written, and lines handed over."""

from __future__ import annotations

import logging
import logging.handlers
import time
from pathlib import Path

import pytest

from keyproxy.logs import Stamp, _write_batch, configure_logging, deferring, hand_over, remember_secrets, scrub


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


@pytest.mark.usefixtures("restored_root")
def test_lines_handed_over_are_written_as_made_with_secrets_masked(tmp_path: Path) -> None:
    stop = configure_logging("INFO", ["sk-secret-0123456789"], tmp_path)
    assert deferring()

    hand_over("keyproxy.access", ["first line", "key sk-secret-0123456789 seen"])
    stop()

    assert lines_in(tmp_path / "keyproxy.log") == ["first line", "key ...6789 seen"]


@pytest.mark.usefixtures("restored_root")
def test_lines_their_maker_scrubbed_are_written_as_they_are(tmp_path: Path) -> None:
    stop = configure_logging("INFO", ["sk-secret-0123456789"], tmp_path)

    assert scrub("model=sk-secret-0123456789") == "model=...6789"
    hand_over("keyproxy.access", ["made clean"], scrubbed=True)
    stop()

    assert lines_in(tmp_path / "keyproxy.log") == ["made clean"]
    assert scrub("sk-secret-0123456789") == "sk-secret-0123456789"  # logging stopped: nothing to mask


@pytest.mark.usefixtures("restored_root")
def test_a_secret_remembered_after_start_is_masked_in_records_and_in_lines_handed_over(tmp_path: Path) -> None:
    stop = configure_logging("INFO", ["sk-secret-0123456789"], tmp_path)
    remember_secrets(["sk-added-later-9876543210", "abc"])

    logging.getLogger("keyproxy.test").warning("upstream said sk-added-later-9876543210 is wrong")
    hand_over("keyproxy.access", ["model=sk-added-later-9876543210"])
    made = scrub("sk-added-later-9876543210")
    stop()

    assert made == "...3210"
    written = (tmp_path / "keyproxy.log").read_text()
    assert "sk-added-later" not in written
    assert "upstream said ...3210 is wrong" in written and "model=...3210" in written


def test_remembering_a_secret_without_logging_set_up_changes_nothing() -> None:
    remember_secrets(["sk-added-later-9876543210"])

    assert scrub("sk-added-later-9876543210") == "sk-added-later-9876543210"


def test_a_batch_that_would_pass_the_files_size_rolls_it_over_first(tmp_path: Path) -> None:
    handler = logging.handlers.RotatingFileHandler(tmp_path / "x.log", maxBytes=100, backupCount=1)
    try:
        _write_batch(handler, "keyproxy.access", b"a" * 59 + b"\n")
        _write_batch(handler, "keyproxy.access", b"b" * 59 + b"\n")
    finally:
        handler.close()

    assert (lines_in(tmp_path / "x.log.1"), lines_in(tmp_path / "x.log")) == (["a" * 59], ["b" * 59])


def test_without_logging_set_up_lines_handed_over_are_logged_at_once(caplog: pytest.LogCaptureFixture) -> None:
    assert not deferring()
    with caplog.at_level(logging.INFO, logger="keyproxy.access"):
        hand_over("keyproxy.access", ["one", "two"])

    assert [(record.name, record.getMessage()) for record in caplog.records] == [
        ("keyproxy.access", "one"), ("keyproxy.access", "two"),
    ]  # fmt: skip


def test_a_stamp_matches_the_formatters_asctime_and_iso_8601_in_utc() -> None:
    stamp = Stamp()
    at = 1_764_460_000.25

    asctime = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at)) + ",250"
    assert stamp.window(at) == (asctime, pytest.approx(at), pytest.approx(at + 0.001))
    assert Stamp(" after").window(at + 0.0015)[0] == asctime[:-3] + "251 after"
    assert stamp.iso(at) == "2025-11-29T23:46:40.250+00:00"
    assert stamp.iso(at + 1.5) == "2025-11-29T23:46:41.750+00:00"
