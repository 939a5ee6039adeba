"""Keys behind outbound proxies, end to end on real sockets: a dead proxy fails its keys over without a verdict
on them, and status shows each key's proxy without its password."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from keyproxy.testing import OutboundProxy
from support import KEYS, StartProxy, Upstream

CHAT = {"model": "fake/fake-chat", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def live_proxy() -> Iterator[OutboundProxy]:
    """An HTTP proxy demanding credentials, served from a loop of its own beside the proxy under test."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    proxy = asyncio.run_coroutine_threadsafe(OutboundProxy("http", "alice:s3cret").start(), loop).result(10)
    yield proxy
    asyncio.run_coroutine_threadsafe(proxy.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


@pytest.fixture
def dead_proxy() -> Iterator[str]:
    with socket.socket() as refusing:
        # Bound but not listening: connections are refused, and no other server takes the port meanwhile.
        refusing.bind(("127.0.0.1", 0))
        yield f"http://bob:hunter2@127.0.0.1:{refusing.getsockname()[1]}"


def test_a_dead_proxy_fails_its_key_over_to_one_behind_a_live_proxy(
    start_proxy: StartProxy, upstream: Upstream, live_proxy: OutboundProxy, dead_proxy: str
) -> None:
    fake, _ = upstream
    url = start_proxy({"FAKE_API_KEY_1_PROXY": dead_proxy, "FAKE_PROXY": live_proxy.url})
    response = httpx.post(url + "/v1/chat/completions", json=CHAT, timeout=10)
    assert response.status_code == 200
    assert [request.key for request in fake.requests] == [KEYS[1]]
    assert live_proxy.targets == [upstream[1] + "/chat/completions"]


def test_status_shows_each_keys_proxy_and_a_dead_proxy_benches_no_key(
    start_proxy: StartProxy, live_proxy: OutboundProxy, dead_proxy: str
) -> None:
    url = start_proxy({"FAKE_API_KEY_1_PROXY": dead_proxy, "FAKE_PROXY": live_proxy.url})
    httpx.post(url + "/v1/chat/completions", json=CHAT, timeout=10)
    status = httpx.get(url + "/v1/status", timeout=10)
    keys = status.json()["providers"]["fake"]["keys"]
    port = live_proxy.url.rsplit(":", 1)[1]
    assert [key["proxy"] for key in keys] == [dead_proxy.replace("bob:hunter2@", "")] + [f"http://127.0.0.1:{port}"] * 2
    assert [key["benched_until"] for key in keys] == [None, None, None]
    assert "hunter2" not in status.text
    assert "s3cret" not in status.text


def test_status_shows_a_dead_proxy_down_and_a_live_one_up_and_one_never_used_unknown(
    start_proxy: StartProxy, live_proxy: OutboundProxy, dead_proxy: str
) -> None:
    url = start_proxy({"FAKE_API_KEY_1_PROXY": dead_proxy, "FAKE_API_KEY_3_PROXY": dead_proxy.replace("bob", "eve"),
                       "FAKE_PROXY": live_proxy.url})  # fmt: skip
    assert httpx.post(url + "/v1/chat/completions", json=CHAT, timeout=10).status_code == 200
    keys = httpx.get(url + "/v1/status", timeout=10).json()["providers"]["fake"]["keys"]
    health = [key["proxy_health"] for key in keys]
    assert [shown["state"] for shown in health] == ["down", "up", "unknown"]
    assert health[0]["failures"] == 1
    assert health[0]["problem"] == f"cannot reach the upstream through proxy {keys[0]['proxy']}"
    assert health[1]["problem"] is None and health[1]["since"] > 0
