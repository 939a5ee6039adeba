"""Fallback chains from the YAML configuration, through real sockets."""

from __future__ import annotations

import httpx

from keyproxy.testing import FakeUpstream, Fault, FaultKind
from support import KEYS, StartProxy, provider_env

Upstream = tuple[FakeUpstream, str]
CONFIG = """
aliases:
  smart:
    targets: [first/fake-chat-large, second/fake-chat]
    on_context_length: true
"""


def two_providers(base: str) -> dict[str, str]:
    return {**provider_env(base, KEYS[:1], "first"), **provider_env(base, KEYS[1:2], "second")}


def ask(url: str) -> httpx.Response:
    body = {"model": "smart", "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(url + "/v1/chat/completions", json=body, timeout=10)


def test_an_alias_answers_from_its_first_target(start_proxy: StartProxy, upstream: Upstream) -> None:
    fake, base = upstream
    response = ask(start_proxy(providers=two_providers(base), config=CONFIG))
    assert response.status_code == 200
    assert response.headers["x-keyproxy-provider"] == "first"
    assert fake.requests[-1].body["model"] == "fake-chat-large"


def test_an_alias_falls_back_when_its_first_target_is_rate_limited(
    start_proxy: StartProxy, upstream: Upstream
) -> None:
    fake, base = upstream
    fake.set_fault(KEYS[0], Fault(FaultKind.RATE_LIMIT, retry_after=60))
    response = ask(start_proxy(providers=two_providers(base), config=CONFIG))
    assert response.status_code == 200
    assert response.headers["x-keyproxy-provider"] == "second"
    assert fake.requests[-1].body["model"] == "fake-chat"


def test_an_alias_falls_back_on_context_length_when_configured(start_proxy: StartProxy, upstream: Upstream) -> None:
    fake, base = upstream
    fake.set_fault(KEYS[0], Fault(FaultKind.BAD_REQUEST))
    response = ask(start_proxy(providers=two_providers(base), config=CONFIG))
    assert response.headers["x-keyproxy-provider"] == "second"


def test_aliases_are_listed_first_in_the_model_list(start_proxy: StartProxy, upstream: Upstream) -> None:
    url = start_proxy(providers=two_providers(upstream[1]), config=CONFIG)
    ids = [model["id"] for model in httpx.get(url + "/v1/models").json()["data"]]
    assert ids[0] == "smart" and "first/fake-chat" in ids
    assert httpx.get(url + "/v1/models/smart").json()["owned_by"] == "keyproxy"
