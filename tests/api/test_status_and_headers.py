"""What an operator sees: served-by headers, /v1/status, /v1/admin/reset, waiting; proxy and upstream in memory."""

from __future__ import annotations

from keyproxy.testing import FakeUpstream, Fault, FaultKind
from support import KEYS, PROXY_KEY, OpenProxy

CHAT = {"model": "fake/fake-chat", "messages": [{"role": "user", "content": "hi"}]}
AUTH = {"Authorization": f"Bearer {PROXY_KEY}"}


def test_an_answer_says_which_provider_and_key_served_it(open_proxy: OpenProxy, fake_upstream: FakeUpstream) -> None:
    fake_upstream.set_fault(KEYS[0], Fault(FaultKind.SERVER_ERROR))
    response = open_proxy().post("/v1/chat/completions", json=CHAT)
    assert response.headers["x-keyproxy-provider"] == "fake"
    assert response.headers["x-keyproxy-key"] == "...0002"
    assert response.headers["x-keyproxy-attempts"] == "2"
    assert float(response.headers["x-keyproxy-overhead-ms"]) >= 0


def test_a_stream_carries_the_same_headers(open_proxy: OpenProxy) -> None:
    response = open_proxy().post("/v1/chat/completions", json={**CHAT, "stream": True})
    assert response.headers["x-keyproxy-attempts"] == "1"
    assert response.headers["content-type"] == "text/event-stream"


def test_status_shows_a_cooling_key_with_its_reason(open_proxy: OpenProxy, fake_upstream: FakeUpstream) -> None:
    fake_upstream.set_fault(KEYS[0], Fault(FaultKind.RATE_LIMIT, retry_after=300))
    fake_upstream.set_fault(KEYS[1], Fault(FaultKind.UNAUTHORIZED))
    proxy = open_proxy({"PROXY_API_KEY": PROXY_KEY})
    proxy.post("/v1/chat/completions", json=CHAT, headers=AUTH)
    keys = proxy.get("/v1/status", headers=AUTH).json()["providers"]["fake"]["keys"]
    assert [key["status"] for key in keys] == ["cooling", "benched", "ok"]
    assert keys[0]["cooldowns"][0]["model"] == "fake-chat"
    assert keys[0]["cooldowns"][0]["reason"] == "rate_limited"
    assert keys[1]["bench_reason"] == "key_rejected"
    assert all(key not in str(keys) for key in KEYS)


def test_status_needs_the_proxy_key(open_proxy: OpenProxy) -> None:
    proxy = open_proxy({"PROXY_API_KEY": PROXY_KEY})
    assert proxy.get("/v1/status").status_code == 401


def test_an_operator_can_lift_a_cooldown_by_hand(open_proxy: OpenProxy, fake_upstream: FakeUpstream) -> None:
    fake_upstream.set_fault(KEYS[0], Fault(FaultKind.RATE_LIMIT, retry_after=300, times=1))
    proxy = open_proxy({"PROXY_API_KEY": PROXY_KEY})
    proxy.post("/v1/chat/completions", json=CHAT, headers=AUTH)
    reset = proxy.post("/v1/admin/reset", json={"provider": "fake", "key": "...0001"}, headers=AUTH)
    assert reset.json() == {"provider": "fake", "lifted": 1}
    keys = proxy.get("/v1/status", headers=AUTH).json()["providers"]["fake"]["keys"]
    assert keys[0]["status"] == "ok"


def test_resetting_an_unknown_key_is_404(open_proxy: OpenProxy) -> None:
    proxy = open_proxy({"PROXY_API_KEY": PROXY_KEY})
    response = proxy.post("/v1/admin/reset", json={"provider": "fake", "key": "nope"}, headers=AUTH)
    assert response.status_code == 404


def test_a_request_waits_for_a_cooling_key_instead_of_failing(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    for key in KEYS:
        fake_upstream.set_fault(key, Fault(FaultKind.RATE_LIMIT, retry_after=1, times=1))
    proxy = open_proxy()
    first = proxy.post("/v1/chat/completions", json=CHAT)
    assert first.status_code == 429
    second = proxy.post("/v1/chat/completions", json=CHAT)
    assert second.status_code == 200
    assert len(fake_upstream.requests) == len(KEYS) + 1
