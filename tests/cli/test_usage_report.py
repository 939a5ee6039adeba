"""`keyproxy usage`, run in this process: what it prints when the data dir cannot be read."""

from __future__ import annotations

from pathlib import Path

import pytest

from keyproxy.cli.main import main


def test_offline_usage_of_a_corrupt_database_says_why_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "keyproxy.db").write_bytes(b"this is not a database " * 200)
    (tmp_path / ".env").write_text("")

    code = main(["usage", "--offline", "--env-file", str(tmp_path / ".env"), "--data-dir", str(data)])

    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("keyproxy: cannot read the state database")
    assert err.count("\n") == 1
