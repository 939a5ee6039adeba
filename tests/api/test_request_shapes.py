"""Every inbound route checks the shape of what it routes on and what every upstream requires, and answers a
malformed request 400 in its own dialect before any key is touched."""

from __future__ import annotations

from typing import Any

import pytest

from keyproxy.testing import AppClient, FakeUpstream
from support import OpenProxy

HI = [{"role": "user", "content": "hi"}]
CHAT = {"model": "fake/fake-chat", "messages": HI}
EMBED = {"model": "fake/fake-embed", "input": "a"}
COMPLETE = {"model": "fake/fake-chat", "prompt": "def f("}
MESSAGES = {"model": "fake/fake-chat", "max_tokens": 32, "messages": HI}
COUNT = {"model": "fake/fake-chat", "messages": HI}
BLOCKS = [{"type": "text", "text": "x"}]


@pytest.fixture
def proxy(open_proxy: OpenProxy) -> AppClient:
    return open_proxy()


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("/v1/chat/completions", {**CHAT, "messages": "hi"}, "$.messages"),
        ("/v1/chat/completions", {**CHAT, "messages": []}, "$.messages"),
        ("/v1/chat/completions", {**CHAT, "messages": ["hi"]}, "$.messages[0]"),
        ("/v1/chat/completions", {**CHAT, "messages": [{"content": "hi"}]}, "role"),
        ("/v1/chat/completions", {**CHAT, "messages": [{"role": 1, "content": "hi"}]}, "$.messages[0].role"),
        ("/v1/chat/completions", {"model": "fake/fake-chat"}, "messages"),
        ("/v1/chat/completions", {**CHAT, "stream": "yes"}, "$.stream"),
        ("/v1/chat/completions", {**CHAT, "model": 4}, "$.model"),
        ("/v1/chat/completions", {**CHAT, "temperature": "warm"}, "$.temperature"),
        ("/v1/embeddings", {**EMBED, "input": 5}, "$.input"),
        ("/v1/embeddings", {"model": "fake/fake-embed"}, "input"),
        ("/v1/completions", {**COMPLETE, "prompt": {"text": "x"}}, "$.prompt"),
        ("/v1/completions", {"model": "fake/fake-chat"}, "prompt"),
    ],
)
def test_a_malformed_openai_request_is_400_naming_the_field_and_reaches_no_key(
    proxy: AppClient, fake_upstream: FakeUpstream, path: str, body: dict[str, Any], where: str
) -> None:
    response = proxy.post(path, json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and where in error["message"]
    assert fake_upstream.requests == []


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("/v1/messages", {**MESSAGES, "messages": {"role": "user"}}, "$.messages"),
        ("/v1/messages", {**MESSAGES, "messages": [[]]}, "$.messages[0]"),
        ("/v1/messages", {k: v for k, v in MESSAGES.items() if k != "max_tokens"}, "max_tokens"),
        ("/v1/messages", {**MESSAGES, "max_tokens": "many"}, "$.max_tokens"),
        ("/v1/messages", {**MESSAGES, "max_tokens": 1.5}, "$.max_tokens"),
        ("/v1/messages", {**MESSAGES, "stream": 1}, "$.stream"),
        ("/v1/messages/count_tokens", {**COUNT, "messages": None}, "$.messages"),
    ],
)
def test_a_malformed_anthropic_request_is_400_in_anthropic_shape_and_reaches_no_key(
    proxy: AppClient, fake_upstream: FakeUpstream, path: str, body: dict[str, Any], where: str
) -> None:
    response = proxy.post(path, json=body)
    assert response.status_code == 400
    answer = response.json()
    assert answer["type"] == "error" and answer["error"]["type"] == "invalid_request_error"
    assert where in answer["error"]["message"]
    assert fake_upstream.requests == []


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", {**CHAT, "stream": None, "temperature": None}),
        ("/v1/chat/completions", {**CHAT, "temperature": 1}),
        ("/v1/embeddings", {**EMBED, "input": [[1, 2, 3]]}),
        ("/v1/completions", {**COMPLETE, "prompt": ["a", "b"]}),
    ],
)  # fmt: skip
def test_well_formed_requests_pass_whatever_else_they_carry(proxy: AppClient, path: str, body: dict[str, Any]) -> None:
    # Passed through untranslated, a field keyproxy does not know is the upstream's business.
    assert proxy.post(path, json={**body, "some_future_field": {"x": [1]}}).status_code == 200


def test_a_well_formed_anthropic_request_passes_the_shape_check(proxy: AppClient) -> None:
    body = {**MESSAGES, "stream": False, "messages": [{"role": "user", "content": BLOCKS}]}
    assert proxy.post("/v1/messages", json=body).status_code == 200


def test_a_field_a_translated_target_cannot_honour_is_refused_not_dropped(proxy: AppClient) -> None:
    # /v1/messages to an OpenAI-protocol provider is translated: an unknown field would be lost on the way.
    answer = proxy.post("/v1/messages", json={**MESSAGES, "some_future_field": {"x": [1]}})
    assert answer.status_code == 400 and "some_future_field" in answer.json()["error"]["message"]
