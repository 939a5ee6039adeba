"""`keyproxy capture tail|show` as a user runs them, after a real `keyproxy serve` captured its exchanges."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from keyproxy.cli.main import main
from keyproxy.testing import Fault, FaultKind
from support import KEYS, ServeProcess, Upstream


def keyproxy(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keyproxy", *args], cwd=cwd, capture_output=True, text=True, timeout=30
    )  # fmt: skip


def test_capture_tail_and_show_print_what_a_served_proxy_captured(tmp_path: Path, upstream: Upstream) -> None:
    upstream[0].set_fault(KEYS[0], Fault(FaultKind.RATE_LIMIT, retry_after=30, times=1))
    proxy = ServeProcess(tmp_path, upstream[1], "KEYPROXY_CAPTURE=all\n")
    answer = proxy.chat()
    stream = {"model": "fake/fake-chat", "stream": True, "messages": [{"role": "user", "content": "go on"}]}
    streamed = httpx.post(proxy.url + "/v1/chat/completions", json=stream, timeout=10)
    proxy.stop()
    exchange_id = answer.headers["x-keyproxy-capture-id"]

    tail = keyproxy("capture", "tail", cwd=tmp_path)
    shown = keyproxy("capture", "show", exchange_id, cwd=tmp_path)

    assert tail.returncode == 0, tail.stderr
    first, second = tail.stdout.splitlines()[-2:]
    assert exchange_id in first and "200  POST /v1/chat/completions  fake/fake-chat  attempts=2" in first
    assert first.endswith("failed") and streamed.headers["x-keyproxy-capture-id"] in second
    assert shown.returncode == 0, shown.stderr
    assert f"--- upstream 1: POST {upstream[1]}/chat/completions" in shown.stdout
    assert "<-- 429" in shown.stdout and "1. fake/fake-chat key" in shown.stdout and "rate_limited" in shown.stdout
    assert "Authorization: [redacted]" in shown.stdout and '"content":"Echo: hi there"' in shown.stdout
    assert all(key not in tail.stdout + shown.stdout for key in KEYS)
    assert stat_mode(tmp_path / "data" / "captures") == 0o700


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_show_of_an_unknown_id_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "captures").mkdir()
    assert (
        main(
            [
                "capture",
                "show",
                "20261129-000000000000",
                "--data-dir",
                str(tmp_path),
                "--env-file",
                str(empty_env(tmp_path)),
            ]
        )
        == 1
    )
    assert "no captured exchange 20261129-000000000000" in capsys.readouterr().err


def test_tail_without_captures_says_capture_is_off(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["capture", "tail", "--data-dir", str(tmp_path), "--env-file", str(empty_env(tmp_path))]) == 1
    assert "KEYPROXY_CAPTURE is off" in capsys.readouterr().err


def empty_env(folder: Path) -> Path:
    (folder / ".env").write_text("")
    return folder / ".env"


def test_show_names_the_outbound_proxy_an_upstream_call_went_through(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call = {"method": "POST", "url": "https://up.test/v1/chat", "proxy": "http://proxy.test:3128", "status": 200}
    record = {"id": "20261129-0123456789ab", "upstream": [call], "response": {"status": 200, "complete": True}}
    (tmp_path / "captures").mkdir()
    (tmp_path / "captures" / "2026-11-29.jsonl").write_text(json.dumps(record) + "\n")
    arguments = ["capture", "show", "20261129-0123456789ab", "--data-dir", str(tmp_path)]
    assert main([*arguments, "--env-file", str(empty_env(tmp_path))]) == 0
    assert "--- upstream 1: POST https://up.test/v1/chat (through http://proxy.test:3128)" in capsys.readouterr().out
