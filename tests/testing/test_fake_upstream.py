from __future__ import annotations

import asyncio
import base64
import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import msgspec
import pytest

from keyproxy.testing import BackgroundServer, FakeClock, FakeUpstream, Response, request

# The SDK is imported inside the tests that use it, so collecting the suite does not pay for it.
if TYPE_CHECKING:
    import openai

KEY = "sk-fake-0001-abcdefghijkl"
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "unit": {"type": "string"}},
                "required": ["city", "days"],
            },
        },
    },
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}},
]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeUpstream, BackgroundServer]]:
    upstream = FakeUpstream(clock=FakeClock(start=1_700_000_123.0))
    with BackgroundServer(upstream) as server:
        yield upstream, server


@pytest.fixture
def upstream(served: tuple[FakeUpstream, BackgroundServer]) -> FakeUpstream:
    served[0].reset()
    return served[0]


@pytest.fixture(scope="module")
def client(served: tuple[FakeUpstream, BackgroundServer]) -> Iterator[openai.OpenAI]:
    import openai

    with openai.OpenAI(base_url=f"{served[1].url}/v1", api_key=KEY, max_retries=0) as client:
        yield client


@pytest.fixture(scope="module")
def http(served: tuple[FakeUpstream, BackgroundServer]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served[1].url, headers={"authorization": f"Bearer {KEY}"}) as http:
        yield http


def ask(client: openai.OpenAI, content: Any, **extra: Any) -> Any:
    return client.chat.completions.create(model="fake-chat", messages=[{"role": "user", "content": content}], **extra)


def in_memory(app: FakeUpstream, method: str, path: str, **kwargs: Any) -> Response:
    return asyncio.run(request(app, method, path, **kwargs))


def test_chat_echoes_the_last_user_message(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    completion = client.chat.completions.create(
        model="fake-chat",
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "hello there"},
        ],
    )
    assert completion.object == "chat.completion"
    assert completion.model == "fake-chat"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == "Echo: hello there"
    assert completion.choices[0].finish_reason == "stop"


def test_chat_joins_text_parts_and_counts_images(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    parts = [{"type": "text", "text": "look"}, image, {"type": "text", "text": "here"}, image]
    assert ask(client, parts).choices[0].message.content == "Echo: look here [2 images]"
    assert ask(client, [image]).choices[0].message.content == "Echo:  [1 image]"


def test_chat_usage_counts_words(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    usage = ask(client, "one two three").usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (3, 4, 7)


def test_chat_ids_are_numbered(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    first, second = ask(client, "a"), ask(client, "b")
    assert first.id.startswith("chatcmpl-fake-")
    assert int(second.id.rsplit("-", 1)[1]) == int(first.id.rsplit("-", 1)[1]) + 1


def test_chat_created_comes_from_the_clock(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    assert ask(client, "a").created == 1_700_000_123


def test_chat_ignores_unknown_fields(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    completion = ask(client, "hi", extra_body={"made_up_field": {"x": 1}})
    assert completion.choices[0].message.content == "Echo: hi"


def test_stream_sends_role_then_word_pieces_then_finish(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    chunks = list(ask(client, "hello big world", stream=True))
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].choices[0].delta.content == ""
    pieces = [chunk.choices[0].delta.content for chunk in chunks[1:-1]]
    assert pieces == ["Echo:", " hello", " big", " world"]
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].usage is None


def test_stream_ends_with_a_usage_chunk_when_asked(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    chunks = list(ask(client, "hello", stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 3
    assert chunks[-2].choices[0].finish_reason == "stop"


def test_stream_is_server_sent_events_ending_with_done(http: httpx.Client, upstream: FakeUpstream) -> None:
    body = {"model": "fake-chat", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with http.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["transfer-encoding"] == "chunked"
        events = [line for line in response.iter_lines() if line]
    assert all(event.startswith("data: ") for event in events)
    assert events[-1] == "data: [DONE]"
    assert msgspec.json.decode(events[0][6:])["choices"][0]["delta"] == {"role": "assistant", "content": ""}


def test_tools_answer_with_a_call_of_the_first_tool(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    choice = ask(client, "weather?", tools=TOOLS).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    call = choice.message.tool_calls[0]
    assert call.id.startswith("call_fake_")
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert msgspec.json.decode(call.function.arguments) == {"city": "fake"}


def test_tool_choice_naming_a_tool_calls_that_tool(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    choice = {"type": "function", "function": {"name": "get_time"}}
    call = ask(client, "time?", tools=TOOLS, tool_choice=choice).choices[0].message.tool_calls[0]
    assert call.function.name == "get_time"
    assert call.function.arguments == "{}"


def test_tool_choice_none_answers_with_text(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    message = ask(client, "just talk", tools=TOOLS, tool_choice="none").choices[0].message
    assert message.content == "Echo: just talk"
    assert message.tool_calls is None


def test_tool_result_is_answered_with_text(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    call: Any = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    completion = client.chat.completions.create(
        model="fake-chat",
        tools=TOOLS,
        messages=[
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
    )
    assert completion.choices[0].message.content == "Tool said: sunny"
    assert completion.choices[0].finish_reason == "stop"


def test_stream_tool_call_sends_name_first_then_arguments_in_pieces(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    chunks = list(ask(client, "weather?", tools=TOOLS, stream=True))
    calls = [chunk.choices[0].delta.tool_calls[0] for chunk in chunks if chunk.choices[0].delta.tool_calls]
    assert calls[0].index == 0
    assert calls[0].id is not None
    assert calls[0].type == "function"
    assert calls[0].function.name == "get_weather"
    assert len(calls) > 2
    assert msgspec.json.decode("".join(call.function.arguments or "" for call in calls)) == {"city": "fake"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_stream_tool_call_is_accumulated_by_the_sdk(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    messages: Any = [{"role": "user", "content": "weather?"}]
    with client.chat.completions.stream(model="fake-chat", messages=messages, tools=TOOLS) as stream:
        completion = stream.get_final_completion()
    calls = completion.choices[0].message.tool_calls
    assert calls is not None
    call = calls[0]
    assert (call.function.name, call.function.arguments) == ("get_weather", '{"city":"fake"}')


def test_embeddings_in_base64_decode_to_the_float_vectors(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    default = client.embeddings.create(model="fake-embed", input=["alpha", "beta"])
    floats = client.embeddings.create(model="fake-embed", input=["alpha", "beta"], encoding_format="float")
    assert [d.embedding for d in default.data] == [d.embedding for d in floats.data]
    assert [d.index for d in floats.data] == [0, 1]
    assert len(floats.data[0].embedding) == 8
    assert floats.model == "fake-embed"
    assert floats.usage.prompt_tokens == floats.usage.total_tokens == 2
    assert upstream.requests[0].body["encoding_format"] == "base64"


def test_embeddings_are_deterministic_per_input(http: httpx.Client, upstream: FakeUpstream) -> None:
    def embed(text: str) -> Any:
        body = {"model": "fake-embed", "input": text, "encoding_format": "base64"}
        data = http.post("/v1/embeddings", json=body).json()["data"][0]["embedding"]
        return struct.unpack("<8f", base64.b64decode(data))

    assert embed("same") == embed("same")
    assert embed("same") != embed("different")
    assert sum(v * v for v in embed("same")) == pytest.approx(1.0, rel=1e-5)


def test_embeddings_accept_token_arrays(http: httpx.Client, upstream: FakeUpstream) -> None:
    single = http.post("/v1/embeddings", json={"model": "fake-embed", "input": [1, 2, 3]}).json()
    several = http.post("/v1/embeddings", json={"model": "fake-embed", "input": [[1, 2], [3]]}).json()
    assert len(single["data"]) == 1
    assert len(several["data"]) == 2


def test_embeddings_reject_input_of_the_wrong_shape(http: httpx.Client, upstream: FakeUpstream) -> None:
    response = http.post("/v1/embeddings", json={"model": "fake-embed", "input": {"not": "text"}})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "input"


def test_models_lists_the_configured_ids(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    models = list(client.models.list())
    assert [model.id for model in models] == ["fake-chat", "fake-chat-large", "fake-embed"]
    assert {model.owned_by for model in models} == {"fake"}


def test_models_can_be_configured() -> None:
    response = in_memory(FakeUpstream(models=["m1"]), "GET", "/v1/models", headers={"authorization": "Bearer k"})
    assert [model["id"] for model in response.json()["data"]] == ["m1"]


def test_prefix_can_be_configured() -> None:
    response = in_memory(
        FakeUpstream(prefix="/openai/v1"), "GET", "/openai/v1/models", headers={"authorization": "Bearer k"}
    )
    assert response.status_code == 200


def test_missing_key_is_rejected_with_401(
    served: tuple[FakeUpstream, BackgroundServer], upstream: FakeUpstream
) -> None:
    response = httpx.get(f"{served[1].url}/v1/models")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_unknown_key_is_rejected_with_its_masked_form() -> None:
    upstream = FakeUpstream(keys=["sk-known-000000000000"])
    known = in_memory(upstream, "GET", "/v1/models", headers={"authorization": "Bearer sk-known-000000000000"})
    unknown = in_memory(upstream, "GET", "/v1/models", headers={"authorization": "Bearer sk-other-123456789012"})
    assert known.status_code == 200
    assert unknown.status_code == 401
    assert unknown.json()["error"]["code"] == "invalid_api_key"
    assert "...9012" in unknown.text
    assert "sk-other-123456789012" not in unknown.text


def test_unknown_path_is_an_openai_shaped_404(http: httpx.Client, upstream: FakeUpstream) -> None:
    response = http.get("/v1/nothing-here")
    assert response.status_code == 404
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_body_that_is_not_json_is_rejected_with_400(http: httpx.Client, upstream: FakeUpstream) -> None:
    response = http.post("/v1/chat/completions", content=b"{nope")
    assert response.status_code == 400


def test_chat_without_messages_is_rejected_with_400(http: httpx.Client, upstream: FakeUpstream) -> None:
    response = http.post("/v1/chat/completions", json={"model": "fake-chat"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "messages"


def test_requests_are_recorded_with_key_body_and_headers(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    ask(client, "remember me", extra_headers={"x-trace": "t-1"})
    [request] = upstream.requests
    assert (request.method, request.path, request.key) == ("POST", "/v1/chat/completions", KEY)
    assert request.body["messages"] == [{"role": "user", "content": "remember me"}]
    assert request.headers["x-trace"] == "t-1"


def test_recorded_request_repr_does_not_show_the_key(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    ask(client, "hi")
    assert KEY not in repr(upstream.requests[0])


def test_recorded_requests_keep_only_the_most_recent() -> None:
    upstream = FakeUpstream(history=2)
    for model in ("a", "b", "c"):
        in_memory(upstream, "POST", "/v1/embeddings", json={"model": model, "input": "x"})
    assert [request.body["model"] for request in upstream.requests] == ["b", "c"]


def test_stats_count_requests_and_statuses_per_key(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    import openai

    ask(client, "hi")
    list(client.models.list())
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="fake-chat", messages=[])
    stats = upstream.stats[KEY]
    assert stats.requests == 3
    assert stats.responses == {200: 2, 400: 1}


def test_reset_forgets_requests_and_stats(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    ask(client, "hi")
    upstream.reset()
    assert upstream.requests == []
    assert upstream.stats == {}
