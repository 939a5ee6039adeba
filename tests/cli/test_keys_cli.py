"""`keyproxy keys ...` and SIGHUP against a running `keyproxy serve`: real processes, signals and stdin are the
point."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

from support import KEYS, KeyId, ServeProcess, Upstream

NEW = "sk-runtime-added-key-000000000000042"
ADMIN_KEY = "kp-admin-secret-9876543210"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def keyproxy(folder: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    return subprocess.run(
        [sys.executable, "-m", "keyproxy", *args], cwd=folder, env=env, input=stdin, capture_output=True, text=True,
        timeout=30,
    )  # fmt: skip


def key_ids(proxy: ServeProcess) -> list[str]:
    status = httpx.get(proxy.url + "/v1/status", headers=ADMIN, timeout=10).json()
    return [key["id"] for key in status["providers"]["fake"]["keys"]]


def test_keys_add_reads_the_key_from_stdin_and_saves_it_owner_only(
    tmp_path: Path, upstream: Upstream, key_id: KeyId
) -> None:
    proxy = ServeProcess(tmp_path, upstream[1], f"KEYPROXY_ADMIN_KEY={ADMIN_KEY}\n")
    added = keyproxy(tmp_path, "keys", "add", "fake", stdin=NEW + "\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout == f"fake: added {key_id(NEW)} (sk-r...0042)\n"
    assert key_ids(proxy)[-1] == key_id(NEW)
    assert stat.S_IMODE((tmp_path / "data" / "runtime-keys.json").stat().st_mode) == 0o600
    log = proxy.stop()
    assert all(key not in log for key in (*KEYS, NEW))


def test_keys_disable_list_and_test_act_on_the_running_proxy(tmp_path: Path, upstream: Upstream, key_id: KeyId) -> None:
    proxy = ServeProcess(tmp_path, upstream[1], f"KEYPROXY_ADMIN_KEY={ADMIN_KEY}\n")
    assert keyproxy(tmp_path, "keys", "disable", "fake", "...0001").returncode == 0
    listed = keyproxy(tmp_path, "keys", "list", "fake").stdout.splitlines()
    assert listed[1].split() == ["fake", key_id(KEYS[0]), "...0001", "env", "disabled"]
    tested = keyproxy(tmp_path, "keys", "test", "fake")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert [line.split()[2] for line in tested.stdout.splitlines()] == ["alive"] * 3
    proxy.stop()


def test_sighup_reloads_the_env_file_without_a_restart(tmp_path: Path, upstream: Upstream, key_id: KeyId) -> None:
    proxy = ServeProcess(tmp_path, upstream[1], f"KEYPROXY_ADMIN_KEY={ADMIN_KEY}\n")
    with (tmp_path / ".env").open("a") as env:
        env.write(f"FAKE_API_KEY_4={NEW}\n")
    proxy.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while key_id(NEW) not in key_ids(proxy) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert key_ids(proxy) == [key_id(key) for key in (*KEYS, NEW)]
    log = proxy.stop()
    assert "configuration reloaded; applied: provider fake" in log
    assert NEW not in log


def test_serve_refuses_to_start_with_a_runtime_keys_file_it_cannot_read(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "runtime-keys.json").write_text("{not json")
    (tmp_path / ".env").write_text("FAKE_API_BASE=http://127.0.0.1:9/v1\nFAKE_API_KEY=sk-fake-000000000001\n")
    result = keyproxy(tmp_path, "serve", "--port", "0")
    assert result.returncode == 1
    assert "runtime-keys.json" in result.stderr
