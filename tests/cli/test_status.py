"""`keyproxy status` as a table: what holds each key out, from a running proxy's /v1/status answer."""

from __future__ import annotations

from typing import Any

import pytest

from keyproxy.cli import status as status_command
from keyproxy.config import CliOptions

NOW = 1_700_000_000.0


def key(mask: str, state: str, **rest: Any) -> dict[str, Any]:
    shown = {"key": mask, "priority": 1, "status": state, "in_flight": 0, "benched_until": None, "cooldowns": []}
    return {**shown, **rest}


def test_the_table_says_which_keys_the_fair_cycle_or_a_cap_holds_out_and_for_how_long(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = {
        "now": NOW,
        "providers": {"groq": {"keys": [
            key("...0001", "held", held=[{"model": "llama-3", "by": "fair_cycle", "until": NOW + 7200}]),
            key("...0002", "held", held=[{"model": "*", "by": "custom_cap", "until": NOW + 90}]),
            key("...0003", "ok", held=[]),
        ]}},
    }  # fmt: skip
    monkeypatch.setattr(status_command, "ask", lambda *args, **kwargs: answer)
    assert status_command.status(CliOptions(), as_json=False) == 0
    rows = capsys.readouterr().out.splitlines()
    assert "llama-3: exhausted, waits for the other keys (fair cycle) for at most 02:00:00" in rows[1]
    assert " held " in rows[1]
    assert "every model: at its custom cap for 00:01:30" in rows[2]
    assert rows[3].split() == ["groq", "...0003", "1", "ok", "0"]


def test_the_table_names_the_outbound_proxy_a_key_goes_through(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = {"now": NOW, "providers": {"openai": {"keys": [key("...0001", "ok", proxy="http://squid:3128")]}}}
    monkeypatch.setattr(status_command, "ask", lambda *args, **kwargs: answer)
    assert status_command.status(CliOptions(), as_json=False) == 0
    assert capsys.readouterr().out.splitlines()[1].endswith("via http://squid:3128")


def test_the_table_says_how_long_a_keys_proxy_has_been_down_and_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    down = {"state": "down", "since": NOW - 75, "failures": 3, "problem": "cannot reach squid"}
    shown = key("...0001", "cooling", proxy="http://squid:3128", proxy_health=down)
    answer = {"now": NOW, "providers": {"openai": {"keys": [shown]}}}
    monkeypatch.setattr(status_command, "ask", lambda *args, **kwargs: answer)
    assert status_command.status(CliOptions(), as_json=False) == 0
    row = capsys.readouterr().out.splitlines()[1]
    assert row.endswith("via http://squid:3128 (down for 00:01:15, 3 connection(s) failed: cannot reach squid)")
