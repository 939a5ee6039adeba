"""`keyproxy check`, run in this process."""

from __future__ import annotations

from pathlib import Path

import pytest

from keyproxy.cli.main import main


def test_check_shows_a_base_url_without_its_credentials(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = tmp_path / ".env"
    env.write_text("LOCAL_API_BASE=https://user:pa55word-0001@llm.example.test/v1?key=query-secret-0001\n")

    assert main(["check", "--env-file", str(env), "--data-dir", str(tmp_path / "data")]) == 0

    out = capsys.readouterr().out
    assert "https://llm.example.test/v1?key=...0001" in out
    assert "query-secret-0001" not in out and "pa55word" not in out


def test_check_shows_each_keys_outbound_proxy_without_its_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / ".env"
    env.write_text("OPENAI_API_KEY_1=sk-fine-0123456789abcdef\nOPENAI_API_KEY_1_PROXY=http://bob:hunter2@squid:3128\n")

    assert main(["check", "--env-file", str(env), "--data-dir", str(tmp_path / "data")]) == 0

    out = capsys.readouterr().out
    assert "via http://squid:3128" in out
    assert "hunter2" not in out


def test_a_short_proxy_key_on_a_public_address_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / ".env"
    env.write_text("PROXY_API_KEY=x\nOPENAI_API_KEY=sk-fine-0123456789abcdef\n")

    assert main(["check", "--env-file", str(env), "--host", "0.0.0.0", "--data-dir", str(tmp_path / "d")]) == 0

    assert "warning: PROXY_API_KEY has 1 characters and 0.0.0.0 is not loopback" in capsys.readouterr().out


def test_a_short_proxy_key_on_loopback_is_no_concern(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = tmp_path / ".env"
    env.write_text("PROXY_API_KEY=x\n")

    assert main(["check", "--env-file", str(env), "--data-dir", str(tmp_path / "d")]) == 0

    assert "PROXY_API_KEY has" not in capsys.readouterr().out


def test_check_says_balanced_rotation_keeps_conversations_where_the_old_proxy_was_sequential(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / ".env"
    env.write_text("OPENAI_API_KEY=sk-fine-0123456789abcdef\nGROQ_API_KEY=gsk-fine-0123456789abcdef\nROTATION_MODE_GROQ=sequential\n")

    assert main(["check", "--env-file", str(env), "--data-dir", str(tmp_path / "data")]) == 0

    out = capsys.readouterr().out
    assert "rotation: balanced with conversation affinity for openai; the old proxy's default was sequential" in out
