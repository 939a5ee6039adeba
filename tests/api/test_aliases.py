"""Fallback chains from the YAML configuration, with the proxy and its upstream in memory."""

from __future__ import annotations

from keyproxy.testing import AppClient, FakeUpstream, Fault, FaultKind, Response
from support import KEYS, MEMORY_BASE, OpenProxy, provider_env

CONFIG = """
aliases:
  smart:
    targets: [first/fake-chat-large, second/fake-chat]
    on_context_length: true
"""


def two_providers(base: str) -> dict[str, str]:
    return {**provider_env(base, KEYS[:1], "first"), **provider_env(base, KEYS[1:2], "second")}


def ask(proxy: AppClient) -> Response:
    body = {"model": "smart", "messages": [{"role": "user", "content": "hi"}]}
    return proxy.post("/v1/chat/completions", json=body)


def test_an_alias_answers_from_its_first_target(open_proxy: OpenProxy, fake_upstream: FakeUpstream) -> None:
    response = ask(open_proxy(providers=two_providers(MEMORY_BASE), config=CONFIG))
    assert response.status_code == 200
    assert response.headers["x-keyproxy-provider"] == "first"
    assert fake_upstream.requests[-1].body["model"] == "fake-chat-large"


def test_an_alias_falls_back_when_its_first_target_is_rate_limited(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.set_fault(KEYS[0], Fault(FaultKind.RATE_LIMIT, retry_after=60))
    response = ask(open_proxy(providers=two_providers(MEMORY_BASE), config=CONFIG))
    assert response.status_code == 200
    assert response.headers["x-keyproxy-provider"] == "second"
    assert fake_upstream.requests[-1].body["model"] == "fake-chat"


def test_an_alias_falls_back_on_context_length_when_configured(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.set_fault(KEYS[0], Fault(FaultKind.BAD_REQUEST))
    response = ask(open_proxy(providers=two_providers(MEMORY_BASE), config=CONFIG))
    assert response.headers["x-keyproxy-provider"] == "second"


def test_aliases_are_listed_first_in_the_model_list(open_proxy: OpenProxy) -> None:
    proxy = open_proxy(providers=two_providers(MEMORY_BASE), config=CONFIG)
    ids = [model["id"] for model in proxy.get("/v1/models").json()["data"]]
    assert ids[0] == "smart" and "first/fake-chat" in ids
    assert proxy.get("/v1/models/smart").json()["owned_by"] == "keyproxy"
