"""`keyproxy check`, run in this process."""

from __future__ import annotations

from pathlib import Path

import pytest

from keyproxy.cli.main import main


def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], dotenv: str, *flags: str) -> str:
    """What `keyproxy check` prints for this `.env`; it must succeed."""
    env = tmp_path / ".env"
    env.write_text(dotenv)
    assert main(["check", "--env-file", str(env), "--data-dir", str(tmp_path / "data"), *flags]) == 0
    return capsys.readouterr().out


def test_check_shows_a_base_url_without_its_credentials(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = check(tmp_path, capsys, "LOCAL_API_BASE=https://user:pa55word-0001@llm.example.test/v1?key=query-secret-0001\n")

    assert "https://llm.example.test/v1?key=...0001" in out
    assert "query-secret-0001" not in out and "pa55word" not in out


def test_check_shows_each_keys_outbound_proxy_without_its_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dotenv = "OPENAI_API_KEY_1=sk-fine-0123456789abcdef\nOPENAI_API_KEY_1_PROXY=http://bob:hunter2@squid:3128\n"
    out = check(tmp_path, capsys, dotenv)

    assert "via http://squid:3128" in out
    assert "hunter2" not in out


def test_a_short_proxy_key_on_a_public_address_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = check(tmp_path, capsys, "PROXY_API_KEY=x\nOPENAI_API_KEY=sk-fine-0123456789abcdef\n", "--host", "0.0.0.0")

    assert "warning: PROXY_API_KEY has 1 characters and 0.0.0.0 is not loopback" in out


def test_a_short_proxy_key_on_loopback_is_no_concern(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "PROXY_API_KEY has" not in check(tmp_path, capsys, "PROXY_API_KEY=x\n")


def test_check_says_balanced_rotation_keeps_conversations_where_the_old_proxy_was_sequential(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dotenv = (
        "OPENAI_API_KEY=sk-fine-0123456789abcdef\nGROQ_API_KEY=gsk-fine-0123456789abcdef\nROTATION_MODE_GROQ=sequential\n"
    )
    out = check(tmp_path, capsys, dotenv)

    assert "rotation: balanced with conversation affinity for openai; the old proxy's default was sequential" in out
    assert "keeps each one on its key, so the provider's prompt cache stays warm" in out
    assert "fair cycle: off for openai, as it is by default with balanced rotation" in out
    assert "    fair cycle: on: a cooldown of 300 s or more exhausts a key" in out  # groq, sequential


def test_check_shows_a_providers_configured_models(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dotenv = 'LOCAL_API_BASE=http://10.0.0.5:8080/v1\nLOCAL_MODELS={"kimi": {"id": "moonshot/kimi-k2"}, "qwen": {}}\n'
    out = check(tmp_path, capsys, dotenv)

    assert "models (LOCAL_MODELS): kimi (as moonshot/kimi-k2), qwen" in out
    assert "LOCAL_MODELS" not in out.split("models (LOCAL_MODELS)")[1]


def test_check_explain_prints_each_setting_with_its_source_and_each_old_variable_with_its_fate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dotenv = "OPENAI_API_KEY=sk-fine-0123456789abcdef\nGLOBAL_TIMEOUT=45\nMONTHLY_BUDGET_GEMINI=5\n"
    out = check(tmp_path, capsys, dotenv, "--explain", "--port", "9100")

    assert f"  GLOBAL_TIMEOUT = 45  (.env {tmp_path / '.env'})\n" in out
    assert "  KEYPROXY_PORT = 9100  (flag --port)\n" in out
    assert "  TIMEOUT_CONNECT = 30  (default)\n" in out
    assert "  OPENAI_API_KEY = ...cdef" in out and "sk-fine" not in out
    assert "old proxy variables:\n" in out and "  MONTHLY_BUDGET_GEMINI: MONTHLY_BUDGET_*/RPD_* are not applied" in out


def test_check_says_nothing_of_the_old_default_for_a_provider_that_chose_balanced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = check(tmp_path, capsys, "OPENAI_API_KEY=sk-fine-0123456789abcdef\nROTATION_MODE_OPENAI=balanced\n")

    assert "rotation:" not in out


def test_check_shows_a_providers_fair_cycle_and_caps_and_names_a_bad_cap_with_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dotenv = "GROQ_API_KEY=sk-aaaaaaaaaaaaaaaaaaaa0001\nROTATION_MODE_GROQ=sequential\nCUSTOM_CAP_GROQ_T2_LLAMA=100\n"
    out = check(tmp_path, capsys, dotenv)
    assert "    fair cycle: on: a cooldown of 300 s or more exhausts a key" in out
    assert "    cap (CUSTOM_CAP_GROQ_T2_LLAMA): tier 2, llama: at most 100 requests per key per UTC day" in out
    (tmp_path / ".env").write_text(dotenv + "CUSTOM_CAP_GROQ_T1_PRO=200%\n")
    assert main(["check", "--env-file", str(tmp_path / ".env"), "--data-dir", str(tmp_path / "data")]) == 1
    error = "error: CUSTOM_CAP_GROQ_T1_PRO: a percentage must be between 0% and 100%, got '200%'"
    assert error in capsys.readouterr().out
