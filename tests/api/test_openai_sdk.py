"""The official openai SDK, used as a client through real sockets, works for every OpenAI route.

The SDK is imported inside the fixture and tests: importing it costs most of a second, which collecting the
rest of the suite should not pay.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from keyproxy.testing import BackgroundServer, FakeUpstream
from support import KEYS, PROXY_KEY, StartProxy, opened, provider_env

if TYPE_CHECKING:
    import openai


@pytest.fixture
def client(start_proxy: StartProxy) -> openai.OpenAI:
    import openai

    url = start_proxy({"PROXY_API_KEY": PROXY_KEY})
    return opened(openai.OpenAI(base_url=url + "/v1", api_key=PROXY_KEY, max_retries=0, timeout=10))


def test_chat_completion_comes_back_from_the_upstream(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="fake/fake-chat", messages=[{"role": "user", "content": "hello"}])
    assert reply.choices[0].message.content == "Echo: hello"
    assert reply.model == "fake-chat"
    assert reply.usage is not None and reply.usage.total_tokens > 0


def test_streaming_chat_arrives_chunk_by_chunk_and_completes(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="fake/fake-chat", messages=[{"role": "user", "content": "one two three"}], stream=True
    )
    chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "Echo: one two three"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert len(chunks) > 3


def test_stream_usage_is_relayed_when_asked_for(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="fake/fake-chat", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    chunks = list(stream)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_tool_call_and_tool_result_round_trip(client: openai.OpenAI) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        }
    ]
    messages: list[dict[str, object]] = [{"role": "user", "content": "weather?"}]
    first = client.chat.completions.create(model="fake/fake-chat", messages=messages, tools=tools)  # type: ignore[arg-type]
    call = first.choices[0].message.tool_calls
    assert call and call[0].function.name == "lookup"
    assert first.choices[0].finish_reason == "tool_calls"
    messages += [
        {"role": "assistant", "tool_calls": [call[0].model_dump()]},
        {"role": "tool", "tool_call_id": call[0].id, "content": "sunny"},
    ]
    second = client.chat.completions.create(model="fake/fake-chat", messages=messages, tools=tools)  # type: ignore[arg-type]
    assert second.choices[0].message.content == "Tool said: sunny"


def test_streamed_tool_call_arrives_whole(client: openai.OpenAI) -> None:
    tools = [{"type": "function", "function": {"name": "ping", "parameters": {"type": "object", "properties": {}}}}]
    stream = client.chat.completions.create(
        model="fake/fake-chat", messages=[{"role": "user", "content": "x"}], tools=tools, stream=True  # type: ignore[arg-type]
    )
    names = [
        call.function.name
        for chunk in stream
        for choice in chunk.choices
        for call in choice.delta.tool_calls or []
        if call.function and call.function.name
    ]
    assert names == ["ping"]


def test_embeddings_work_with_the_sdk_default_base64_encoding(client: openai.OpenAI) -> None:
    result = client.embeddings.create(model="fake/fake-embed", input=["a", "b"])
    assert [item.index for item in result.data] == [0, 1]
    assert len(result.data[0].embedding) == 8


def test_embeddings_as_floats(client: openai.OpenAI) -> None:
    result = client.embeddings.create(model="fake/fake-embed", input="a", encoding_format="float")
    assert len(result.data[0].embedding) == 8


def test_model_list_names_models_as_provider_slash_model(client: openai.OpenAI) -> None:
    ids = [model.id for model in client.models.list()]
    assert ids == ["fake/fake-chat", "fake/fake-chat-large", "fake/fake-embed"]


def test_one_model_can_be_retrieved_by_its_id(client: openai.OpenAI) -> None:
    assert client.models.retrieve("fake/fake-chat").id == "fake/fake-chat"


def test_unknown_model_id_is_not_found(client: openai.OpenAI) -> None:
    import openai

    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("fake/nope")


def test_fields_the_proxy_does_not_know_reach_the_upstream_untouched(
    client: openai.OpenAI, upstream: tuple[FakeUpstream, str]
) -> None:
    client.chat.completions.create(
        model="fake/fake-chat",
        messages=[{"role": "user", "content": [
            {"type": "text", "text": "look"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}},
        ]}],
        response_format={"type": "json_object"},
        extra_body={"future_field": {"nested": [1, 2.5, "x"]}},
    )  # fmt: skip
    received = upstream[0].requests[-1]
    assert received.body["model"] == "fake-chat"
    assert received.body["future_field"] == {"nested": [1, 2.5, "x"]}
    assert received.body["response_format"] == {"type": "json_object"}
    assert received.body["messages"][0]["content"][1]["image_url"]["url"] == "data:image/png;base64,AA=="


def test_requests_rotate_over_every_key(start_proxy: StartProxy, upstream: tuple[FakeUpstream, str]) -> None:
    import openai

    url = start_proxy({"ROTATION_TOLERANCE": "0"})
    client = opened(openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0))
    for _ in range(6):
        client.chat.completions.create(model="fake/fake-chat", messages=[{"role": "user", "content": "x"}])
    used = [request.key for request in upstream[0].requests]
    assert used == [*KEYS, *KEYS]


def test_legacy_completion_with_the_sdk(client: openai.OpenAI) -> None:
    completion = client.completions.create(model="fake/fake-chat", prompt="def add(a, b):", suffix="\n", max_tokens=8)
    assert completion.choices[0].text == "Echo: def add(a, b):"
    assert completion.usage is not None and completion.usage.completion_tokens > 0


def test_legacy_completion_streamed_with_the_sdk(client: openai.OpenAI) -> None:
    stream = client.completions.create(model="fake/fake-chat", prompt="one two", stream=True)
    chunks = list(stream)
    assert "".join(chunk.choices[0].text for chunk in chunks if chunk.choices) == "Echo: one two"
    assert chunks[-1].choices[0].finish_reason == "stop"


@pytest.fixture
def with_openai(start_proxy: StartProxy, upstream: tuple[FakeUpstream, str]) -> Iterator[openai.OpenAI]:
    """A proxy with `fake` and an `openai` provider whose base URL is a second fake listing gpt-4o-mini."""
    import openai

    with BackgroundServer(FakeUpstream(models=("gpt-4o-mini",))) as other:
        providers = {**provider_env(upstream[1]), **provider_env(other.url + "/v1", KEYS[:1], "openai")}
        url = start_proxy({"PROXY_API_KEY": PROXY_KEY}, providers=providers)
        yield opened(openai.OpenAI(base_url=url + "/v1", api_key=PROXY_KEY, max_retries=0, timeout=10))


def test_a_bare_model_name_reaches_the_provider_listing_it(with_openai: openai.OpenAI) -> None:
    response = with_openai.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}]
    )
    assert response.headers["x-keyproxy-provider"] == "openai"
    assert response.parse().choices[0].message.content == "Echo: hello"


def test_an_unknown_bare_model_is_not_found_with_code_model_not_found(with_openai: openai.OpenAI) -> None:
    import openai

    with pytest.raises(openai.NotFoundError) as caught:
        with_openai.chat.completions.create(model="gpt-4o-maxi", messages=[{"role": "user", "content": "hello"}])
    assert caught.value.code == "model_not_found"
    assert "gpt-4o-maxi" in caught.value.message
