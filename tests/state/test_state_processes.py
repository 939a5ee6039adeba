"""Durability as a user sees it: a real `keyproxy serve` process, stopped cleanly, killed, restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from keyproxy.state.sqlite_usage import read_usage
from keyproxy.testing import Fault, FaultKind
from support import KEYS, ServeProcess, Upstream

CHAT = {"model": "fake/fake-chat", "messages": [{"role": "user", "content": "hi there"}]}


def requests_stored(db: Path) -> int:
    return sum(counters.requests for _, counters in read_usage(db))


def wait_for_flush(db: Path, count: int) -> None:
    deadline = time.monotonic() + 10
    while requests_stored(db) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_clean_stop_keeps_every_request(tmp_path: Path, upstream: Upstream) -> None:
    proxy = ServeProcess(tmp_path, upstream[1], "KEYPROXY_FLUSH_INTERVAL=3600\n")  # nothing flushes before the stop
    for _ in range(7):
        assert proxy.chat().status_code == 200
    proxy.stop(signal.SIGTERM)
    rows = read_usage(proxy.db)
    assert sum(c.requests for _, c in rows) == 7
    assert sum(c.prompt_tokens for _, c in rows) > 0
    assert all(key.key_id not in KEYS and len(key.key_id) == 12 for key, _ in rows)


def test_sigint_flushes_too(tmp_path: Path, upstream: Upstream) -> None:
    proxy = ServeProcess(tmp_path, upstream[1], "KEYPROXY_FLUSH_INTERVAL=3600\n")
    proxy.chat()
    proxy.stop(signal.SIGINT)
    assert requests_stored(proxy.db) == 1


def test_a_kill_loses_at_most_the_last_flush_interval(tmp_path: Path, upstream: Upstream) -> None:
    proxy = ServeProcess(tmp_path, upstream[1])
    for _ in range(5):
        proxy.chat()
    wait_for_flush(proxy.db, 5)
    proxy.chat()  # may or may not be flushed when the kill lands
    proxy.stop(signal.SIGKILL)
    assert requests_stored(proxy.db) in (5, 6)


def test_a_cooldown_survives_a_restart(tmp_path: Path, upstream: Upstream) -> None:
    upstream[0].set_fault(KEYS[0], Fault(FaultKind.RATE_LIMIT, retry_after=3600, times=1))
    proxy = ServeProcess(tmp_path, upstream[1])
    assert proxy.chat().status_code == 200
    proxy.stop()
    again = ServeProcess(tmp_path, upstream[1])
    keys = httpx.get(again.url + "/v1/status").json()["providers"]["fake"]["keys"]
    assert keys[0]["status"] == "cooling"
    assert keys[0]["cooldowns"][0]["until"] > time.time() + 3000
    again.chat()
    again.chat()
    again.stop()
    assert [r.key for r in upstream[0].requests].count(KEYS[0]) == 1


def test_a_corrupt_database_is_moved_aside_and_the_proxy_serves(tmp_path: Path, upstream: Upstream) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "keyproxy.db").write_bytes(b"this is not a database" * 100)
    proxy = ServeProcess(tmp_path, upstream[1])
    assert proxy.chat().status_code == 200
    stderr = proxy.stop()
    assert "keyproxy.db" in stderr and "corrupt" in stderr.lower()
    assert list((tmp_path / "data").glob("keyproxy.db.corrupt-*"))
    assert requests_stored(proxy.db) == 1


def test_usage_shows_tokens_per_key_and_model(tmp_path: Path, upstream: Upstream) -> None:
    upstream[0].set_fault(KEYS[0], Fault(FaultKind.SERVER_ERROR, times=1))
    proxy = ServeProcess(tmp_path, upstream[1])
    proxy.chat()
    report = httpx.get(proxy.url + "/v1/usage", params={"provider": "fake"}).json()
    keys = report["providers"]["fake"]["keys"]
    first, second = keys["...0001"], keys["...0002"]
    assert first["models"]["fake-chat"]["failures"] == {"transient": 1}
    assert second["models"]["fake-chat"]["successes"] == 1
    assert second["models"]["fake-chat"]["prompt_tokens"] > 0
    table = subprocess.run(
        [sys.executable, "-m", "keyproxy", "usage"], cwd=tmp_path, capture_output=True, text=True, timeout=30,
        env={name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ},
    )  # fmt: skip
    assert "fake-chat" in table.stdout and "...0002" in table.stdout
    proxy.stop()
    offline = subprocess.run(
        [sys.executable, "-m", "keyproxy", "usage", "--json"], cwd=tmp_path, capture_output=True, text=True,
        timeout=30, env={name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ},
    )  # fmt: skip
    assert '"fake-chat"' in offline.stdout
