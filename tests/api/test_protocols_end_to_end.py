"""Each client protocol against each upstream protocol, through real sockets, with the official SDKs.

The SDKs are imported inside the helpers and tests that use them: importing both costs more than a second,
which collecting the rest of the suite should not pay.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from api.sdk_support import all_protocols, claude, gpt
from keyproxy.testing import FakeUpstream, Fault, FaultKind
from support import KEYS, MEMORY_BASE, OpenProxy, StartProxy, Upstream

TOOLS_ANTHROPIC: list[Any] = [
    {"name": "lookup", "description": "weather", "input_schema": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
]  # fmt: skip
TOOLS_OPENAI: list[Any] = [
    {"type": "function", "function": {"name": "lookup", "parameters": TOOLS_ANTHROPIC[0]["input_schema"]}},
]
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


@pytest.fixture
def url(start_proxy: StartProxy, upstream: Upstream) -> str:
    return start_proxy(providers=all_protocols(upstream[1]))


MODELS = ["fake/fake-chat", "gemini/fake-chat", "anthropic/fake-chat"]


@pytest.mark.parametrize("model", MODELS)
def test_an_anthropic_client_gets_a_message(model: str, url: str) -> None:
    reply = claude(url).messages.create(model=model, max_tokens=64, messages=[{"role": "user", "content": "hello"}])
    assert reply.content[0].type == "text"
    assert reply.content[0].text == "Echo: hello"
    assert reply.stop_reason == "end_turn"
    assert reply.model in (model, model.partition("/")[2])  # a native answer keeps the upstream's name
    assert reply.usage.output_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_an_anthropic_client_streams_a_message(model: str, url: str) -> None:
    with claude(url).messages.stream(
        model=model, max_tokens=64, messages=[{"role": "user", "content": "one two three"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Echo: one two three"
    assert final.stop_reason == "end_turn"


@pytest.mark.parametrize("model", MODELS)
def test_an_anthropic_client_round_trips_a_tool_call(model: str, url: str) -> None:
    client = claude(url)
    messages: list[Any] = [{"role": "user", "content": "weather?"}]
    first = client.messages.create(model=model, max_tokens=64, messages=messages, tools=TOOLS_ANTHROPIC)
    use = next(block for block in first.content if block.type == "tool_use")
    assert use.name == "lookup" and first.stop_reason == "tool_use"
    messages += [
        {"role": "assistant", "content": [block.model_dump() for block in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]},
    ]
    second = client.messages.create(model=model, max_tokens=64, messages=messages, tools=TOOLS_ANTHROPIC)
    assert second.content[0].type == "text"
    assert "sunny" in second.content[0].text


@pytest.mark.parametrize("model", MODELS)
def test_an_anthropic_client_streams_a_tool_call(model: str, url: str) -> None:
    with claude(url).messages.stream(
        model=model, max_tokens=64, messages=[{"role": "user", "content": "x"}], tools=TOOLS_ANTHROPIC
    ) as stream:
        final = stream.get_final_message()
    use = next(block for block in final.content if block.type == "tool_use")
    assert use.input == {"city": "fake"}


@pytest.mark.parametrize("model", MODELS)
def test_an_anthropic_client_sends_an_image(model: str, url: str) -> None:
    content: Any = [
        {"type": "text", "text": "look"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
    ]
    reply = claude(url).messages.create(model=model, max_tokens=64, messages=[{"role": "user", "content": content}])
    assert "[1 image" in reply.content[0].text  # type: ignore[union-attr]


@pytest.mark.parametrize("model", MODELS)
def test_an_anthropic_client_fails_over_between_keys(model: str, url: str, upstream: Upstream) -> None:
    upstream[0].set_fault(KEYS[0], Fault(FaultKind.RATE_LIMIT, retry_after=30))
    reply = claude(url).messages.create(model=model, max_tokens=64, messages=[{"role": "user", "content": "hi"}])
    assert reply.content[0].text == "Echo: hi"  # type: ignore[union-attr]
    assert [r.key for r in upstream[0].requests] == [KEYS[0], KEYS[1]]


@pytest.mark.parametrize("model", MODELS)
def test_an_anthropic_client_gets_rate_limit_errors_in_its_own_shape(model: str, url: str, upstream: Upstream) -> None:
    import anthropic

    for key in KEYS:
        upstream[0].set_fault(key, Fault(FaultKind.RATE_LIMIT, retry_after=30))
    with pytest.raises(anthropic.RateLimitError) as caught:
        claude(url).messages.create(model=model, max_tokens=64, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body["type"] == "error"  # type: ignore[index]


def test_an_anthropic_client_sees_a_cut_stream_as_an_error(open_proxy: OpenProxy, fake_upstream: FakeUpstream) -> None:
    # What the stream says is the point here, not the socket: proxy and upstream run in memory.
    fake_upstream.set_fault(KEYS[0], Fault(FaultKind.CUT_AFTER_FIRST_CHUNK))
    body = {"model": "fake/fake-chat", "max_tokens": 64, "stream": True,
            "messages": [{"role": "user", "content": "a b c d"}]}  # fmt: skip
    response = open_proxy(providers=all_protocols(MEMORY_BASE)).post("/v1/messages", json=body)
    text = response.text
    assert "event: error" in text
    assert "message_stop" not in text


@pytest.mark.parametrize("model", ["anthropic/fake-chat", "gemini/fake-chat"])
def test_an_openai_client_chats_with_native_upstreams(model: str, url: str) -> None:
    reply = gpt(url).chat.completions.create(model=model, messages=[{"role": "user", "content": "hello"}])
    assert reply.choices[0].message.content == "Echo: hello"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and reply.usage.total_tokens > 0


@pytest.mark.parametrize("model", ["anthropic/fake-chat", "gemini/fake-chat"])
def test_an_openai_client_streams_from_native_upstreams(model: str, url: str) -> None:
    stream = gpt(url).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "one two"}], stream=True
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: one two"
    assert any(c.choices and c.choices[0].finish_reason == "stop" for c in chunks)


@pytest.mark.parametrize("model", ["anthropic/fake-chat", "gemini/fake-chat"])
def test_an_openai_client_round_trips_tools_with_native_upstreams(model: str, url: str) -> None:
    client = gpt(url)
    messages: list[Any] = [{"role": "user", "content": "weather?"}]
    first = client.chat.completions.create(model=model, messages=messages, tools=TOOLS_OPENAI)
    calls = first.choices[0].message.tool_calls
    assert calls and calls[0].function.name == "lookup"
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [calls[0].model_dump()]},
        {"role": "tool", "tool_call_id": calls[0].id, "content": "sunny"},
    ]
    second = client.chat.completions.create(model=model, messages=messages, tools=TOOLS_OPENAI)
    assert "sunny" in (second.choices[0].message.content or "")


@pytest.mark.parametrize("model", ["anthropic/fake-chat", "gemini/fake-chat"])
def test_an_openai_client_fails_over_on_native_upstreams(model: str, url: str, upstream: Upstream) -> None:
    upstream[0].set_fault(KEYS[0], Fault(FaultKind.OVERLOADED))
    reply = gpt(url).chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "Echo: hi"
    assert [r.key for r in upstream[0].requests] == [KEYS[0], KEYS[1]]


def test_a_rejected_gemini_key_is_benched_not_returned_as_a_bad_request(url: str, upstream: Upstream) -> None:
    upstream[0].set_fault(KEYS[0], Fault(FaultKind.UNAUTHORIZED))
    client = gpt(url)
    for _ in range(3):
        client.chat.completions.create(model="gemini/fake-chat", messages=[{"role": "user", "content": "hi"}])
    assert [r.key for r in upstream[0].requests].count(KEYS[0]) == 1


def test_a_daily_gemini_quota_is_a_quota_cooldown(url: str, upstream: Upstream) -> None:
    upstream[0].set_fault(KEYS[0], Fault(FaultKind.QUOTA))
    gpt(url).chat.completions.create(model="gemini/fake-chat", messages=[{"role": "user", "content": "hi"}])
    status = httpx.get(url + "/v1/status").json()["providers"]["gemini"]["keys"][0]
    assert status["cooldowns"][0]["reason"] == "quota_exhausted"


def test_openai_embeddings_through_gemini(url: str) -> None:
    result = gpt(url).embeddings.create(model="gemini/fake-embed", input=["a", "b"])
    assert [item.index for item in result.data] == [0, 1]
    assert len(result.data[0].embedding) == 8


def test_gemini_and_anthropic_models_are_listed(url: str) -> None:
    ids = [model.id for model in gpt(url).models.list()]
    assert "gemini/fake-chat" in ids and "anthropic/fake-chat" in ids


def test_count_tokens_is_exact_from_anthropic_and_estimated_elsewhere(url: str) -> None:
    client = claude(url)
    messages: Any = [{"role": "user", "content": "one two three four"}]
    exact = client.messages.count_tokens(model="anthropic/fake-chat", messages=messages)
    estimate = client.messages.count_tokens(model="fake/fake-chat", messages=messages)
    assert exact.input_tokens == 4
    assert estimate.input_tokens >= 1


@pytest.mark.parametrize("model", ["anthropic/fake-chat", "gemini/fake-chat"])
def test_an_openai_client_sends_an_image_to_native_upstreams(model: str, url: str) -> None:
    content: Any = [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
    ]
    reply = gpt(url).chat.completions.create(model=model, messages=[{"role": "user", "content": content}])
    assert "[1 image" in (reply.choices[0].message.content or "")


@pytest.mark.parametrize("model", ["anthropic/fake-chat", "gemini/fake-chat"])
def test_an_openai_client_gets_native_rate_limits_as_429(model: str, url: str, upstream: Upstream) -> None:
    import openai

    for key in KEYS:
        upstream[0].set_fault(key, Fault(FaultKind.RATE_LIMIT, retry_after=30))
    with pytest.raises(openai.RateLimitError) as caught:
        gpt(url).chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.response.headers["retry-after"]
