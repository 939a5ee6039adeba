"""The `keyproxy` command as a user runs it: real processes, a clean environment, a .env file."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

SECRET = "sk-proj-abcdefghijklmnopqrstuvwxyz0123"


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keyproxy", *args], cwd=cwd, env=clean_env(env), capture_output=True, text=True,
        timeout=30,
    )  # fmt: skip


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "SYSTEMROOT") if name in os.environ}
    return {**keep, **(extra or {})}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_health(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)


@dataclass
class Served:
    process: subprocess.Popen[str]
    stderr: str = ""
    """What it wrote to stderr, once stopped."""


@contextlib.contextmanager
def serving_demo(folder: Path, port: int, *flags: str) -> Iterator[Served]:
    """`keyproxy serve --demo` started in `folder` (its .env as the test wrote it) and answering on `port`;
    stopped by SIGTERM as the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "keyproxy", "serve", "--demo", *flags],
        cwd=folder, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    served = Served(process)
    try:
        wait_for_health(port)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        _, served.stderr = process.communicate(timeout=15)


def test_check_lists_providers_with_masked_keys_only(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f'PROXY_API_KEY="proxy-key-0123456789"\nOPENAI_API_KEY_1="{SECRET}"\n')
    result = run("check", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "openai" in result.stdout and "sk-p...0123" in result.stdout
    assert SECRET not in result.stdout + result.stderr
    assert "proxy-key-0123456789" not in result.stdout
    assert "[openai, built-in, own Responses API]" in result.stdout


def test_check_reports_every_invalid_value_and_fails(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("GLOBAL_TIMEOUT=soon\nROTATION_MODE_OPENAI=random\nOPENAI_API_KEY=sk-x-1234567890\n")
    result = run("check", cwd=tmp_path)
    assert result.returncode == 1
    assert "GLOBAL_TIMEOUT" in result.stdout and "ROTATION_MODE_OPENAI" in result.stdout


def test_check_warns_about_variables_that_have_no_effect_yet(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("OAUTH_REFRESH_INTERVAL=600\nOPENAI_API_KEY=sk-x-1234567890\n")
    result = run("check", cwd=tmp_path)
    assert result.returncode == 0
    assert "warning: OAUTH_REFRESH_INTERVAL" in result.stdout


def test_check_uses_the_env_file_flag(tmp_path: Path) -> None:
    env_file = tmp_path / "other.env"
    env_file.write_text(f"GROQ_API_KEY={SECRET}\n")
    result = run("check", "--env-file", str(env_file), cwd=tmp_path)
    assert "groq" in result.stdout and "https://api.groq.com/openai/v1" in result.stdout


def test_check_config_prints_the_aliases_of_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "keyproxy.yaml").write_text(
        f"variables:\n  OPENAI_API_KEY: {SECRET}\n  GROQ_API_KEY: gsk-abcdefghijklmnop0001\n"
        "aliases:\n  coding: [openai/gpt-4o, groq/llama-3.3-70b-versatile]\n"
    )
    result = run("check", "--config", "keyproxy.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "coding -> openai/gpt-4o, groq/llama-3.3-70b-versatile" in result.stdout
    assert SECRET not in result.stdout + result.stderr


def test_check_prints_each_key_priority(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"OPENAI_API_KEY_2={SECRET}\nOPENAI_API_KEY_2_PRIORITY=2\n")
    result = run("check", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "from OPENAI_API_KEY_2  priority 2" in result.stdout


def test_serving_a_public_address_without_a_proxy_key_is_refused(tmp_path: Path) -> None:
    result = run("serve", "--host", "0.0.0.0", "--port", str(free_port()), cwd=tmp_path)
    assert result.returncode == 2
    assert "PROXY_API_KEY" in result.stderr


def test_serve_demo_answers_a_chat_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    with serving_demo(tmp_path, port, "--port", str(port)) as served:
        reply = httpx.post(
            f"http://127.0.0.1:{port}/v1/chat/completions",
            json={"model": "demo/fake-chat", "messages": [{"role": "user", "content": "ten seconds"}]},
        )
        assert reply.json()["choices"][0]["message"]["content"] == "Echo: ten seconds"
        assert (tmp_path / "data").is_dir()
    assert served.process.returncode == 0, served.stderr
    assert "demo-key" not in served.stderr
    assert "listening on" in (tmp_path / "data" / "keyproxy.log").read_text()


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_the_command_describes_itself(flag: str, tmp_path: Path) -> None:
    result = run(flag, cwd=tmp_path)
    assert result.returncode == 0 and "keyproxy" in result.stdout


def test_status_and_reset_key_talk_to_the_running_proxy(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / ".env").write_text(f"PROXY_API_KEY=proxy-key-0123456789\nKEYPROXY_PORT={port}\n")
    with serving_demo(tmp_path, port):
        table = run("status", cwd=tmp_path)
        assert table.returncode == 0, table.stderr
        assert "demo" in table.stdout and "...0001" in table.stdout and " ok " in table.stdout
        assert run("status", "--json", cwd=tmp_path).stdout.startswith("{")
        reset = run("reset-key", "demo", cwd=tmp_path)
        assert reset.returncode == 0 and "demo: lifted 0" in reset.stdout
        unknown = run("reset-key", "demo", "no-such-key", cwd=tmp_path)
        assert unknown.returncode == 1 and "404" in unknown.stderr


def test_serve_names_each_old_variable_it_does_not_apply_as_it_starts(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / ".env").write_text(f"KEYPROXY_PORT={port}\nTIMEOUT_WRITE=30\nMONTHLY_BUDGET_GEMINI=5\n")
    with serving_demo(tmp_path, port) as served:
        pass
    assert "TIMEOUT_WRITE is not applied: the upstream client has no write timeout" in served.stderr
    assert "MONTHLY_BUDGET_*/RPD_* are not applied" in served.stderr


def test_status_without_a_running_proxy_says_so(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"KEYPROXY_PORT={free_port()}\n")
    result = run("status", cwd=tmp_path)
    assert result.returncode == 1
    assert "is `keyproxy serve` running?" in result.stderr


def test_once_started_the_collector_leaves_start_up_objects_alone_and_waits_longer() -> None:
    # In a process of its own: the test process's collector stays as it is.
    shown = subprocess.run(
        [sys.executable, "-c", "import gc; from keyproxy.cli.serve import settle_collector; settle_collector(); "
         "print(gc.get_freeze_count() > 1000, gc.get_threshold()[0])"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip

    assert shown.split() == ["True", "10000"]
