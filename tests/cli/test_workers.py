"""Several workers on one port (`keyproxy serve --workers N`): real processes, real sockets, real Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from cli.workers_support import CHAT, Supervised, children, paused, process_state, wait_until, worker_index
from keyproxy.state.sqlite_usage import read_usage
from keyproxy.testing import Fault, FaultKind
from support import KEYS, Upstream, needs_redis

pytestmark = needs_redis

Start = Callable[..., Supervised]


@pytest.fixture
def supervise(tmp_path: Path, upstream: Upstream, redis_prefix: str) -> Iterator[Start]:
    """supervise(*flags, extra=..., keys=...) -> a running supervisor whose workers are all ready."""
    started: list[Supervised] = []

    def start(*flags: str, extra: str = "", keys: tuple[str, ...] = KEYS) -> Supervised:
        proxy = Supervised(tmp_path, upstream[1], redis_prefix, flags or ("--workers", "2"), extra, keys)
        started.append(proxy)
        return proxy

    yield start
    upstream[0].release_hangs()
    for proxy in started:
        if proxy.process.returncode is None:
            proxy.kill_all()


def usage_requests(proxy: Supervised) -> int:
    report = httpx.get(proxy.url + "/v1/usage", params={"provider": "fake"}, timeout=10).json()
    keys = report["providers"]["fake"]["keys"].values()
    return sum(model["requests"] for key in keys for model in key["models"].values())


def test_the_concurrency_cap_holds_across_workers(supervise: Start, upstream: Upstream) -> None:
    upstream[0].set_fault(KEYS[0], Fault(FaultKind.HANG, times=1))
    proxy = supervise(extra="MAX_CONCURRENT_REQUESTS_PER_KEY_FAKE=1\nGLOBAL_TIMEOUT=1\n", keys=KEYS[:1])
    first, second = proxy.workers()
    hanging = threading.Thread(target=proxy.chat)
    with paused(second):
        hanging.start()
        assert upstream[0].wait_for_requests(1)
    with paused(first):
        refused = proxy.chat()
    upstream[0].release_hangs()
    hanging.join()

    assert refused.status_code != 200
    assert len(upstream[0].requests) == 1


def test_a_cooldown_one_worker_sets_is_kept_by_the_other(supervise: Start, upstream: Upstream) -> None:
    upstream[0].set_fault(KEYS[0], Fault(FaultKind.RATE_LIMIT, retry_after=3600, times=1))
    proxy = supervise()
    first, second = proxy.workers()
    with paused(second):
        assert proxy.chat().status_code == 200
    with paused(first):
        assert [proxy.chat().status_code for _ in range(3)] == [200] * 3

    assert [request.key for request in upstream[0].requests].count(KEYS[0]) == 1


def test_the_usage_of_every_worker_adds_up(supervise: Start) -> None:
    proxy = supervise()
    first, second = proxy.workers()
    with paused(second):
        assert [proxy.chat().status_code for _ in range(3)] == [200] * 3
    with paused(first):
        assert [proxy.chat().status_code for _ in range(2)] == [200] * 2
    wait_until(lambda: usage_requests(proxy) == 5, "Redis to hold the usage of both workers")

    assert proxy.stop() == 0
    assert sum(counters.requests for _, counters in read_usage(proxy.data / "keyproxy.db")) == 5


def test_requests_after_a_worker_is_killed_all_succeed_and_it_is_started_again(supervise: Start) -> None:
    proxy = supervise()
    killed, other = proxy.workers()
    index = worker_index(killed)
    os.kill(killed, signal.SIGKILL)

    assert [proxy.chat().status_code for _ in range(10)] == [200] * 10
    wait_until(lambda: len([pid for pid in proxy.workers() if pid not in (killed, other)]) == 1, "a new worker")
    (new,) = (pid for pid in proxy.workers() if pid not in (killed, other))
    wait_until(lambda: f"ready (pid {new})" in proxy.worker_log(index), "the new worker to be ready")
    with paused(other):
        assert proxy.chat().status_code == 200
    assert "exited with status -9" in proxy.stderr()


def test_sigterm_to_the_supervisor_lets_a_stream_finish_and_stops_every_worker(
    supervise: Start, upstream: Upstream
) -> None:
    for key in KEYS:
        upstream[0].set_fault(key, Fault(FaultKind.SLOW, delay=0.1))
    proxy = supervise()
    workers = proxy.workers()
    received = []
    with httpx.stream("POST", proxy.url + "/v1/chat/completions", json={**CHAT, "stream": True}, timeout=30) as answer:
        pieces = answer.iter_text()
        received.append(next(pieces))
        proxy.process.send_signal(signal.SIGTERM)
        received.extend(pieces)

    assert "".join(received).rstrip().endswith("data: [DONE]")
    assert proxy.wait() == 0
    assert [process_state(pid) for pid in workers] == [None, None]


def reloaded(proxy: Supervised, index: int) -> bool:
    return any("reloaded" in line and "rotation_tolerance" in line for line in proxy.worker_log(index).splitlines())


def test_sighup_reloads_every_worker(supervise: Start) -> None:
    proxy = supervise()
    with (proxy.folder / ".env").open("a") as env:
        env.write("ROTATION_TOLERANCE=2\n")
    proxy.process.send_signal(signal.SIGHUP)

    for index in (1, 2):
        wait_until(lambda index=index: reloaded(proxy, index), f"worker {index} to reload")


def test_a_reload_asked_over_http_reaches_every_worker(supervise: Start) -> None:
    proxy = supervise()
    with (proxy.folder / ".env").open("a") as env:
        env.write("ROTATION_TOLERANCE=2\n")
    answer = httpx.post(proxy.url + "/v1/admin/reload", timeout=10)

    assert "rotation_tolerance" in answer.json()["applied"]
    for index in (1, 2):
        wait_until(lambda index=index: reloaded(proxy, index), f"worker {index} to reload")


def test_the_workers_stop_when_the_supervisor_is_killed(supervise: Start) -> None:
    proxy = supervise()
    workers = proxy.workers()
    proxy.stop(signal.SIGKILL)

    wait_until(lambda: all(process_state(pid) in (None, "Z") for pid in workers), "the orphaned workers to stop")


def test_auto_starts_one_worker_per_core(supervise: Start) -> None:
    cores = len(os.sched_getaffinity(0))
    proxy = supervise("--workers", "auto")

    assert len(proxy.workers()) == (cores if cores > 1 else 0)
    assert proxy.chat().status_code == 200


def test_more_than_one_worker_without_redis_is_refused_in_one_line(tmp_path: Path, upstream: Upstream) -> None:
    (tmp_path / ".env").write_text(f"FAKE_API_BASE={upstream[1]}\nFAKE_API_KEY={KEYS[0]}\n")
    env = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    ended = subprocess.run(
        [sys.executable, "-m", "keyproxy", "serve", "--workers", "2", "--port", "0"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip

    assert ended.returncode == 2
    assert ended.stderr.count("\n") == 1
    assert "KEYPROXY_REDIS_URL" in ended.stderr and "--workers" in ended.stderr
    assert children(os.getpid()) == []
