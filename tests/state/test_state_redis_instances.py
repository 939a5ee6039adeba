"""Two keyproxy instances sharing one Redis act as one: through real sockets, with the fake upstream."""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
import time

import httpx

from keyproxy.redact import mask
from keyproxy.testing import FakeUpstream, Fault, FaultKind
from support import StartProxy, needs_redis, provider_env

pytestmark = needs_redis
CHAT = {"model": "fake/fake-chat", "messages": [{"role": "user", "content": "hi"}]}


def fresh_keys() -> tuple[str, ...]:
    """Keys no earlier run has used, so state left in Redis by other tests cannot interfere."""
    return tuple(f"sk-redis-{secrets.token_hex(8)}-{n}" for n in range(2))


def two_instances(start_proxy: StartProxy, base: str, keys: tuple[str, ...]) -> tuple[str, str]:
    env = {**provider_env(base, keys), "KEYPROXY_REDIS_URL": "redis://127.0.0.1:6379/0"}
    return start_proxy(providers=env), start_proxy(providers=env)


def test_a_429_seen_by_one_instance_cools_the_key_for_the_other(
    start_proxy: StartProxy, upstream: tuple[FakeUpstream, str]
) -> None:
    fake, base = upstream
    keys = fresh_keys()
    fake.set_fault(keys[0], Fault(FaultKind.RATE_LIMIT, retry_after=600))
    first, second = two_instances(start_proxy, base, keys)
    assert httpx.post(first + "/v1/chat/completions", json=CHAT).status_code == 200
    for _ in range(3):
        assert httpx.post(second + "/v1/chat/completions", json=CHAT).status_code == 200
    assert [request.key for request in fake.requests].count(keys[0]) == 1
    seen = httpx.get(second + "/v1/status").json()["providers"]["fake"]["keys"][0]
    assert seen["status"] == "cooling"


def test_usage_from_both_instances_adds_up(start_proxy: StartProxy, upstream: tuple[FakeUpstream, str]) -> None:
    keys = fresh_keys()
    first, second = two_instances(start_proxy, upstream[1], keys)
    for url in (first, second, second):
        assert httpx.post(url + "/v1/chat/completions", json=CHAT).status_code == 200
    ours = {mask(key) for key in keys}
    total = 0
    for _ in range(100):  # the sums reach Redis within a flush interval
        report = httpx.get(first + "/v1/usage", params={"provider": "fake"}).json()["providers"]["fake"]["keys"]
        total = sum(m["requests"] for shown, k in report.items() if shown in ours for m in k["models"].values())
        if total == 3:
            break
        time.sleep(0.05)
    assert total == 3


class Relay:
    """A TCP relay to Redis that the test can cut, as an outage would, and bring back."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.running:
                client.close()
                continue
            server = socket.create_connection(("127.0.0.1", 6379))
            self.open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_RDWR)
            source.close()  # each pipe closes the end it reads; the other pipe closes the other

    def cut(self) -> None:
        self.running = False
        for connection in self.open:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self.open.clear()

    def restore(self) -> None:
        self.running = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


def test_a_redis_outage_fails_no_request_and_the_state_returns(
    start_proxy: StartProxy, upstream: tuple[FakeUpstream, str]
) -> None:
    fake, base = upstream
    relay = Relay()
    try:
        keys = fresh_keys()
        env = {**provider_env(base, keys), "KEYPROXY_REDIS_URL": f"redis://127.0.0.1:{relay.port}/0",
               "KEYPROXY_FLUSH_INTERVAL": "0.1"}  # fmt: skip
        url = start_proxy(providers=env)
        statuses = [httpx.post(url + "/v1/chat/completions", json=CHAT).status_code for _ in range(5)]
        relay.cut()
        fake.set_fault(keys[0], Fault(FaultKind.RATE_LIMIT, retry_after=600, times=1))
        statuses += [httpx.post(url + "/v1/chat/completions", json=CHAT).status_code for _ in range(10)]
        assert statuses == [200] * 15
        assert [r.key for r in fake.requests].count(keys[0]) <= 4  # cooled locally during the outage
        relay.restore()
        seen = {}
        for _ in range(100):  # the store probes Redis every flush interval and pushes what it kept
            other = start_proxy(providers={**env, "KEYPROXY_REDIS_URL": "redis://127.0.0.1:6379/0"})
            seen = httpx.get(other + "/v1/status").json()["providers"]["fake"]["keys"][0]
            if seen["status"] == "cooling":
                break
            time.sleep(0.1)
        assert seen["status"] == "cooling"
    finally:
        relay.close()
