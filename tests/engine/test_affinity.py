"""Conversation affinity in balanced rotation, in memory: a conversation stays on its key (its prompt cache),
different conversations spread, and a conversation whose key cools moves once and stays."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from keyproxy.testing import AppClient, ASGITransport, FakeUpstream, Fault, FaultKind
from keyproxy.wiring import build_app
from support import MEMORY_BASE, provider_env, proxy_settings

KEYS = tuple(f"sk-affinity-key-000000000-{n:04d}" for n in range(4))
HELLO = [{"role": "user", "content": "hi"}]


def proxy_for(fake_upstream: FakeUpstream, tmp_path: Any, **env: str) -> AppClient:
    values = {**provider_env(MEMORY_BASE, KEYS), "KEYPROXY_STATE": "memory", **env}
    return AppClient(build_app(proxy_settings(values, tmp_path), transport=ASGITransport(fake_upstream)))


@pytest.fixture
def proxy(fake_upstream: FakeUpstream, tmp_path: Any) -> Iterator[AppClient]:
    with proxy_for(fake_upstream, tmp_path) as client:
        yield client


def turn(proxy: AppClient, session: str) -> str:
    response = proxy.post("/v1/chat/completions", json={"model": "fake/fake-chat", "messages": HELLO},
                          headers={"x-session-id": session})  # fmt: skip
    assert response.status_code == 200
    return response.headers["x-keyproxy-key"]


def test_a_ten_turn_conversation_stays_on_one_key_while_forty_spread_evenly(proxy: AppClient) -> None:
    first = {f"conversation-{n}": turn(proxy, f"conversation-{n}") for n in range(40)}
    shares = Counter(first.values())
    assert len(shares) == len(KEYS)
    assert all(8 <= count <= 12 for count in shares.values()), shares
    assert {turn(proxy, "conversation-7") for _ in range(10)} == {first["conversation-7"]}


def test_a_conversation_whose_key_cools_moves_once_and_stays(proxy: AppClient, fake_upstream: FakeUpstream) -> None:
    home = turn(proxy, "talk")
    cooled = next(key for key in KEYS if key.endswith(home[-4:]))
    fake_upstream.set_fault(cooled, Fault(FaultKind.RATE_LIMIT, retry_after=30, times=1))
    moved = turn(proxy, "talk")
    assert moved != home
    # Its old key usable again (the cooldown lifted) changes nothing: the conversation's cache is on the new one.
    assert proxy.post("/v1/admin/reset", json={"provider": "fake"}).json()["lifted"] == 1
    assert {turn(proxy, "talk") for _ in range(5)} == {moved}


def test_affinity_off_spreads_one_conversation_over_the_keys(fake_upstream: FakeUpstream, tmp_path: Any) -> None:
    with proxy_for(fake_upstream, tmp_path, KEYPROXY_AFFINITY="off") as proxy:
        assert len({turn(proxy, "talk") for _ in range(8)}) == len(KEYS)
