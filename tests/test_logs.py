"""Logging set-up: the file beside stderr, and what happens when the file cannot be written."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from keyproxy.logs import configure_logging


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
