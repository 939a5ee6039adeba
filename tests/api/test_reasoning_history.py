"""A model's reasoning carried back to the providers whose thinking models need it after a tool call, in memory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from api.sdk_support import all_protocols
from keyproxy.testing import AppClient, ASGITransport, FakeUpstream
from keyproxy.wiring import build_app
from support import MEMORY_BASE, provider_env, proxy_settings

VERSION = {"anthropic-version": "2023-06-01"}
TOOL = {"name": "get_weather", "input_schema": {"type": "object", "properties": {}}}
THINKING = {"type": "thinking", "thinking": "Their city is Paris.", "signature": "EuYB"}
CALL = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
TOOL_TURN = [
    {"role": "user", "content": "Weather?"},
    {"role": "assistant", "content": [THINKING, CALL]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"}]},
]


@pytest.fixture
def proxy(fake_upstream: FakeUpstream, tmp_path: Any) -> Iterator[AppClient]:
    env = {**all_protocols(MEMORY_BASE), **provider_env(MEMORY_BASE, name="deepseek"), "KEYPROXY_STATE": "memory"}
    with AppClient(build_app(proxy_settings(env, tmp_path), transport=ASGITransport(fake_upstream))) as client:
        yield client


def assistant_sent(upstream: FakeUpstream) -> dict[str, Any]:
    messages: list[dict[str, Any]] = upstream.requests[-1].body["messages"]
    return next(message for message in messages if message["role"] == "assistant")


def test_claude_codes_thinking_reaches_deepseek_as_reasoning_content(
    proxy: AppClient, fake_upstream: FakeUpstream
) -> None:
    body = {"model": "deepseek/fake-chat", "max_tokens": 64, "messages": TOOL_TURN, "tools": [TOOL]}
    assert proxy.post("/v1/messages", json=body, headers=VERSION).status_code == 200
    assert assistant_sent(fake_upstream)["reasoning_content"] == "Their city is Paris."
    assert "reasoning_details" not in assistant_sent(fake_upstream)


def test_a_provider_not_known_to_take_reasoning_back_gets_none(proxy: AppClient, fake_upstream: FakeUpstream) -> None:
    body = {"model": "fake/fake-chat", "max_tokens": 64, "messages": TOOL_TURN, "tools": [TOOL]}
    assert proxy.post("/v1/messages", json=body, headers=VERSION).status_code == 200
    assert not {"reasoning_content", "reasoning", "reasoning_details"} & set(assistant_sent(fake_upstream))


def test_a_responses_clients_reasoning_reaches_deepseek(proxy: AppClient, fake_upstream: FakeUpstream) -> None:
    items = [
        {"role": "user", "content": "Weather?"},
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Look it up."}]},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "18C"},
    ]
    assert proxy.post("/v1/responses", json={"model": "deepseek/fake-chat", "input": items}).status_code == 200
    assert assistant_sent(fake_upstream)["reasoning_content"] == "Look it up."
