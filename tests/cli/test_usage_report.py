"""`keyproxy usage`, run in this process: what it prints from a data dir, and when the data dir cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.api_support import usage_json
from keyproxy.cli.main import main
from keyproxy.state.sqlite_writer import Batch, SqliteWriter
from keyproxy.testing import BackgroundServer
from keyproxy.usage.book import UsageKey
from keyproxy.usage.counters import UsageCounters
from keyproxy.wiring import build_app
from support import proxy_settings

NOW = 1_700_000_000.0


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


def test_offline_usage_shows_each_model_exactly_as_the_api_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = UsageCounters(
        requests=3, successes=1, failures={"transient": 2}, prompt_tokens=100, completion_tokens=20, cached_tokens=10,
        reasoning_tokens=5, estimated=1, cost_usd=0.1234567, last_used=NOW, first_byte_sum=0.75, first_byte_count=2,
        seconds_sum=3.5,
    )  # fmt: skip
    rows = [(UsageKey("2023-11-14", "p", "k", "m"), first), (UsageKey("2023-11-15", "p", "k", "m"), first)]
    data = tmp_path / "data"
    writer = SqliteWriter.open(data / "keyproxy.db")
    for key, counters in rows:
        writer.apply(Batch({key: counters}))
    writer.close()
    (tmp_path / ".env").write_text("")

    code = main(["usage", "--offline", "--json", "--env-file", str(tmp_path / ".env"), "--data-dir", str(data)])

    offline = json.loads(capsys.readouterr().out)["providers"]["p"]["keys"]["id:k"]["models"]
    assert code == 0
    assert offline == usage_json(rows)["providers"]["p"]["keys"]["id:k"]["models"]


def running_proxy(tmp_path: Path, key: str) -> BackgroundServer:
    settings = proxy_settings({"PROXY_API_KEY": key, "KEYPROXY_STATE": "memory"}, tmp_path / "proxy")
    return BackgroundServer(build_app(settings))


def test_a_proxy_that_refuses_the_question_is_reported_not_replaced_by_stale_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_proxy(tmp_path, "kp-the-real-key-0123456789") as server:
        (tmp_path / ".env").write_text(f"KEYPROXY_PORT={server.port}\nPROXY_API_KEY=kp-a-wrong-key-0123456789\n")
        code = main(["usage", "--env-file", str(tmp_path / ".env"), "--data-dir", str(tmp_path / "data")])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith("keyproxy: ") and "answered 401" in captured.err
    assert "no usage recorded" not in captured.out and "Traceback" not in captured.err


def test_filters_with_reserved_characters_reach_the_proxy_intact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_proxy(tmp_path, "kp-the-real-key-0123456789") as server:
        (tmp_path / ".env").write_text(f"KEYPROXY_PORT={server.port}\nPROXY_API_KEY=kp-the-real-key-0123456789\n")
        code = main(["usage", "--json", "--model", "a&since=2000-01-01#x", "--env-file", str(tmp_path / ".env")])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["since"] is None
