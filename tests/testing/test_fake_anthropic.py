from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import msgspec
import pytest

from keyproxy.testing import BackgroundServer, FakeClock, FakeUpstream, Fault, FaultKind

# The SDK is imported inside the tests that use it, so collecting the suite does not pay for it.
if TYPE_CHECKING:
    import anthropic

KEY = "sk-ant-fake-0001-abcdefgh"
VERSION = {"anthropic-version": "2023-06-01"}
HELLO = {"model": "fake-chat", "max_tokens": 64, "messages": [{"role": "user", "content": "hello world"}]}
STREAM = {**HELLO, "stream": True}
TOOLS: list[Any] = [
    {
        "name": "get_weather",
        "description": "Weather in a city",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "unit": {"type": "string"}},
            "required": ["city", "days"],
        },
    },
    {"name": "get_time", "input_schema": {"type": "object", "properties": {}}},
]
THINKING: Any = {"type": "enabled", "budget_tokens": 1024}
IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeUpstream, BackgroundServer]]:
    upstream = FakeUpstream(clock=FakeClock(start=1_700_000_123.0))
    with BackgroundServer(upstream) as server:
        yield upstream, server
        upstream.release_hangs()


@pytest.fixture
def upstream(served: tuple[FakeUpstream, BackgroundServer]) -> FakeUpstream:
    served[0].reset()
    return served[0]


@pytest.fixture(scope="module")
def url(served: tuple[FakeUpstream, BackgroundServer]) -> str:
    return served[1].url


@pytest.fixture(scope="module")
def client(url: str) -> Iterator[anthropic.Anthropic]:
    import anthropic

    with anthropic.Anthropic(base_url=url, api_key=KEY, max_retries=0) as client:
        yield client


@pytest.fixture(scope="module")
def http(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, headers={"x-api-key": KEY, **VERSION}) as http:
        yield http


def ask(client: anthropic.Anthropic, content: Any, **extra: Any) -> Any:
    return client.messages.create(
        model="fake-chat", max_tokens=64, messages=[{"role": "user", "content": content}], **extra
    )


def events_of(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) pairs of a server-sent event stream, checking each is well framed."""
    events = []
    for frame in response.text.split("\n\n"):
        if not frame:
            continue
        name, data = frame.split("\n")
        assert name.startswith("event: ")
        assert data.startswith("data: ")
        events.append((name[7:], msgspec.json.decode(data[6:])))
    return events


def test_message_echoes_the_last_user_message(client: anthropic.Anthropic, upstream: FakeUpstream) -> None:
    from anthropic.types import TextBlock

    message = client.messages.create(
        model="fake-chat",
        max_tokens=64,
        system="be brief",
        messages=[
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "hello there"},
        ],
    )
    assert message.id.startswith("msg_fake_")
    assert (message.type, message.role, message.model) == ("message", "assistant", "fake-chat")
    [block] = message.content
    assert isinstance(block, TextBlock)
    assert block.text == "Echo: hello there"
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)


def test_message_has_exactly_anthropics_shape(http: httpx.Client, upstream: FakeUpstream) -> None:
    body = http.post("/v1/messages", json=HELLO).json()
    assert body == {
        "id": body["id"],
        "type": "message",
        "role": "assistant",
        "model": "fake-chat",
        "content": [{"type": "text", "text": "Echo: hello world"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 2, "output_tokens": 3},
    }


def test_usage_counts_words_of_system_and_every_message(client: anthropic.Anthropic, upstream: FakeUpstream) -> None:
    message = client.messages.create(
        model="fake-chat",
        max_tokens=64,
        system=[{"type": "text", "text": "be very brief"}],
        messages=[{"role": "user", "content": "one two"}, {"role": "assistant", "content": "three"}],
    )
    assert (message.usage.input_tokens, message.usage.output_tokens) == (6, 3)


def test_message_ids_are_numbered(client: anthropic.Anthropic, upstream: FakeUpstream) -> None:
    first, second = ask(client, "a"), ask(client, "b")
    assert int(second.id.rsplit("_", 1)[1]) == int(first.id.rsplit("_", 1)[1]) + 1


def test_text_blocks_are_joined_and_images_counted(client: anthropic.Anthropic, upstream: FakeUpstream) -> None:
    blocks = [{"type": "text", "text": "look"}, IMAGE, {"type": "text", "text": "here"}, IMAGE]
    assert ask(client, blocks).content[0].text == "Echo: look here [2 images]"
    assert ask(client, [IMAGE, {"type": "text", "text": "this"}]).content[0].text == "Echo: this [1 image]"


def test_tools_answer_with_a_tool_use_of_the_first_tool(client: anthropic.Anthropic, upstream: FakeUpstream) -> None:
    message = ask(client, "weather?", tools=TOOLS)
    assert message.stop_reason == "tool_use"
    [block] = message.content
    assert block.type == "tool_use"
    assert block.id.startswith("toolu_fake_")
    assert (block.name, block.input) == ("get_weather", {"city": "fake"})


def test_tool_choice_naming_a_tool_uses_that_tool(client: anthropic.Anthropic, upstream: FakeUpstream) -> None:
    block = ask(client, "time?", tools=TOOLS, tool_choice={"type": "tool", "name": "get_time"}).content[0]
    assert (block.name, block.input) == ("get_time", {})


def test_tool_choice_none_answers_with_text(client: anthropic.Anthropic, upstream: FakeUpstream) -> None:
    message = ask(client, "just talk", tools=TOOLS, tool_choice={"type": "none"})
    assert message.content[0].text == "Echo: just talk"
    assert message.stop_reason == "end_turn"


def test_tool_use_round_trip_answers_with_the_tool_result(client: anthropic.Anthropic, upstream: FakeUpstream) -> None:
    from anthropic.types import TextBlock, ToolUseBlock

    question: Any = {"role": "user", "content": "weather?"}
    asked = client.messages.create(model="fake-chat", max_tokens=64, tools=TOOLS, messages=[question])
    use = asked.content[0]
    assert isinstance(use, ToolUseBlock)
    result: Any = {"type": "tool_result", "tool_use_id": use.id, "content": [{"type": "text", "text": "sunny"}]}
    answered = client.messages.create(
        model="fake-chat",
        max_tokens=64,
        tools=TOOLS,
        messages=[question, {"role": "assistant", "content": asked.content}, {"role": "user", "content": [result]}],
    )
    assert isinstance(answered.content[0], TextBlock)
    assert answered.content[0].text == "Tool said: sunny"
    assert answered.stop_reason == "end_turn"


def test_thinking_comes_first_with_its_signature(client: anthropic.Anthropic, upstream: FakeUpstream) -> None:
    message = ask(client, "hi", thinking=THINKING)
    assert [block.type for block in message.content] == ["thinking", "text"]
    thinking = message.content[0]
    assert (thinking.thinking, thinking.signature) == ("Thinking about it.", "sig_fake")
    assert message.content[1].text == "Echo: hi"


def test_count_tokens_counts_words_of_all_text(client: anthropic.Anthropic, upstream: FakeUpstream) -> None:
    counted = client.messages.count_tokens(
        model="fake-chat", system="two words", messages=[{"role": "user", "content": "a b c"}]
    )
    assert counted.input_tokens == 5
    assert upstream.requests[-1].path == "/v1/messages/count_tokens"


def test_stream_helper_builds_the_same_message(client: anthropic.Anthropic, upstream: FakeUpstream) -> None:
    whole = ask(client, "hello big world", thinking=THINKING)
    messages: Any = [{"role": "user", "content": "hello big world"}]
    with client.messages.stream(model="fake-chat", max_tokens=64, messages=messages, thinking=THINKING) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert texts == ["Echo:", " hello", " big", " world"]
    assert final.model_dump(exclude={"id"}) == whole.model_dump(exclude={"id"})


def test_stream_helper_accumulates_a_tool_use(client: anthropic.Anthropic, upstream: FakeUpstream) -> None:
    from anthropic.types import ToolUseBlock

    messages: Any = [{"role": "user", "content": "weather?"}]
    with client.messages.stream(model="fake-chat", max_tokens=64, messages=messages, tools=TOOLS) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    use = final.content[0]
    assert isinstance(use, ToolUseBlock)
    assert (use.name, use.input) == ("get_weather", {"city": "fake"})


def test_stream_is_anthropics_event_sequence(http: httpx.Client, upstream: FakeUpstream) -> None:
    response = http.post("/v1/messages", json=STREAM)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = events_of(response)
    assert all(name == data["type"] for name, data in events)
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * 3,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    started = events[0][1]["message"]
    assert started["content"] == []
    assert started["stop_reason"] is None
    assert started["usage"] == {"input_tokens": 2, "output_tokens": 1}
    assert events[1][1] == {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    assert [data["delta"] for _, data in events[3:6]] == [
        {"type": "text_delta", "text": piece} for piece in ("Echo:", " hello", " world")
    ]
    assert events[-2][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 3},
    }
    assert events[-1][1] == {"type": "message_stop"}


def test_stream_thinking_sends_thinking_then_signature_deltas(http: httpx.Client, upstream: FakeUpstream) -> None:
    events = events_of(http.post("/v1/messages", json={**STREAM, "thinking": THINKING}))
    first_block = [data for _, data in events if data.get("index") == 0]
    assert first_block[0]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    deltas = [data["delta"] for data in first_block if data["type"] == "content_block_delta"]
    assert [delta["type"] for delta in deltas] == ["thinking_delta"] * 3 + ["signature_delta"]
    assert "".join(delta.get("thinking", "") for delta in deltas) == "Thinking about it."
    assert deltas[-1]["signature"] == "sig_fake"
    assert first_block[-1] == {"type": "content_block_stop", "index": 0}
    assert [data["index"] for _, data in events if data["type"] == "content_block_start"] == [0, 1]


def test_stream_tool_use_sends_its_input_in_pieces(http: httpx.Client, upstream: FakeUpstream) -> None:
    events = events_of(http.post("/v1/messages", json={**STREAM, "tools": TOOLS}))
    [start] = [data["content_block"] for _, data in events if data["type"] == "content_block_start"]
    assert start == {"type": "tool_use", "id": start["id"], "name": "get_weather", "input": {}}
    pieces = [data["delta"]["partial_json"] for _, data in events if data["type"] == "content_block_delta"]
    assert len([piece for piece in pieces if piece]) >= 2
    assert msgspec.json.decode("".join(pieces)) == {"city": "fake"}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_models_with_an_anthropic_client_are_anthropic_shaped(
    client: anthropic.Anthropic, http: httpx.Client, upstream: FakeUpstream
) -> None:
    models = list(client.models.list())
    assert [model.id for model in models] == ["fake-chat", "fake-chat-large", "fake-embed"]
    assert models[0].display_name == "Fake Chat"
    assert http.get("/v1/models").json() == {
        "data": [
            {"type": "model", "id": model.id, "display_name": model.display_name, "created_at": "2023-11-14T22:15:23Z"}
            for model in models
        ],
        "has_more": False,
        "first_id": "fake-chat",
        "last_id": "fake-embed",
    }


def test_models_with_x_api_key_alone_are_anthropic_shaped(url: str, upstream: FakeUpstream) -> None:
    body = httpx.get(f"{url}/v1/models", headers={"x-api-key": KEY, **VERSION}).json()
    assert body["has_more"] is False
    assert body["data"][0]["type"] == "model"


def test_models_with_a_bearer_key_stay_openai_shaped(url: str, upstream: FakeUpstream) -> None:
    body = httpx.get(f"{url}/v1/models", headers={"authorization": f"Bearer {KEY}"}).json()
    assert body["object"] == "list"
    assert body["data"][0]["object"] == "model"


def test_the_key_may_come_as_a_bearer_token_as_recent_sdks_send_it(url: str, upstream: FakeUpstream) -> None:
    headers = {"authorization": f"Bearer {KEY}", **VERSION}
    assert httpx.post(f"{url}/v1/messages", json=HELLO, headers=headers).status_code == 200
    assert upstream.requests[-1].key == KEY


def test_missing_version_is_refused_with_400(url: str, upstream: FakeUpstream) -> None:
    response = httpx.post(f"{url}/v1/messages", json=HELLO, headers={"x-api-key": KEY})
    assert response.status_code == 400
    assert response.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "anthropic-version: header is required"},
    }


def test_missing_key_is_refused_with_401(url: str, upstream: FakeUpstream) -> None:
    response = httpx.post(f"{url}/v1/messages", json=HELLO, headers=VERSION)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_unknown_key_is_refused_with_401() -> None:
    upstream = FakeUpstream(keys=["sk-ant-known-00000000"])
    with BackgroundServer(upstream) as server:
        headers = {"x-api-key": "sk-ant-other-00000000", **VERSION}
        response = httpx.post(f"{server.url}/v1/messages", json=HELLO, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == {"type": "authentication_error", "message": "invalid x-api-key"}


def test_max_tokens_is_required(http: httpx.Client, upstream: FakeUpstream) -> None:
    response = http.post("/v1/messages", json={"model": "fake-chat", "messages": HELLO["messages"]})
    assert response.status_code == 400
    assert response.json()["error"] == {"type": "invalid_request_error", "message": "max_tokens: Field required"}


def test_body_that_is_not_json_is_an_anthropic_400(http: httpx.Client, upstream: FakeUpstream) -> None:
    response = http.post("/v1/messages", content=b"{nope")
    assert response.status_code == 400
    assert response.json()["type"] == "error"


def test_requests_are_recorded_with_the_key_from_x_api_key(http: httpx.Client, upstream: FakeUpstream) -> None:
    http.post("/v1/messages", json=HELLO, headers={"x-trace": "t-1"})
    [request] = upstream.requests
    assert (request.method, request.path, request.key) == ("POST", "/v1/messages", KEY)
    assert request.body == HELLO
    assert request.headers["x-trace"] == "t-1"
    assert upstream.stats[KEY].responses == {200: 1}


@pytest.mark.parametrize(
    ("kind", "status", "error_type", "exception"),
    [
        (FaultKind.RATE_LIMIT, 429, "rate_limit_error", "RateLimitError"),
        (FaultKind.QUOTA, 429, "rate_limit_error", "RateLimitError"),
        (FaultKind.UNAUTHORIZED, 401, "authentication_error", "AuthenticationError"),
        (FaultKind.FORBIDDEN, 403, "permission_error", "PermissionDeniedError"),
        (FaultKind.SERVER_ERROR, 500, "api_error", "InternalServerError"),
        (FaultKind.UNAVAILABLE, 503, "api_error", "InternalServerError"),
        (FaultKind.OVERLOADED, 529, "overloaded_error", "InternalServerError"),
        (FaultKind.BAD_REQUEST, 400, "invalid_request_error", "BadRequestError"),
        (FaultKind.NOT_FOUND, 404, "not_found_error", "NotFoundError"),
        (FaultKind.UNPROCESSABLE, 400, "invalid_request_error", "BadRequestError"),
    ],
)
def test_error_faults_answer_in_anthropics_shape(
    client: anthropic.Anthropic,
    upstream: FakeUpstream,
    kind: FaultKind,
    status: int,
    error_type: str,
    exception: str,
) -> None:
    import anthropic

    upstream.set_fault(KEY, Fault(kind, times=1))
    with pytest.raises(getattr(anthropic, exception)) as caught:
        ask(client, "hi")
    assert caught.value.status_code == status
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["type"] == "error"
    assert set(body["error"]) == {"type", "message"}
    assert body["error"]["type"] == error_type


def test_bad_request_says_the_prompt_is_too_long(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.BAD_REQUEST))
    assert http.post("/v1/messages", json=HELLO).json()["error"]["message"].startswith("prompt is too long: ")


def test_not_found_names_the_model(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.NOT_FOUND))
    assert http.post("/v1/messages", json=HELLO).json()["error"]["message"] == "model: fake-chat"


def test_rate_limit_carries_retry_after(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.RATE_LIMIT, retry_after=7))
    assert http.post("/v1/messages", json=HELLO).headers["retry-after"] == "7"


def test_faults_apply_to_count_tokens_and_models(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.OVERLOADED))
    assert http.post("/v1/messages/count_tokens", json=HELLO).status_code == 529
    assert http.get("/v1/models").status_code == 529


def test_garbage_is_200_json_that_does_not_parse(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.GARBAGE))
    response = http.post("/v1/messages", json=HELLO)
    assert (response.status_code, response.text) == (200, "not json at all <html>")


def test_empty_is_200_with_no_body(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.EMPTY))
    response = http.post("/v1/messages", json=HELLO)
    assert (response.status_code, response.content) == (200, b"")


def test_hang_never_answers_until_the_client_gives_up(url: str, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.HANG))
    headers = {"x-api-key": KEY, **VERSION}
    with httpx.Client(base_url=url, timeout=0.2) as impatient, pytest.raises(httpx.ReadTimeout):
        impatient.post("/v1/messages", json=HELLO, headers=headers)


def test_released_hang_answers_an_anthropic_503(url: str, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.HANG))
    answers: list[httpx.Response] = []

    def call() -> None:
        answers.append(httpx.post(f"{url}/v1/messages", json=HELLO, headers={"x-api-key": KEY, **VERSION}))

    caller = threading.Thread(target=call)
    caller.start()
    assert upstream.wait_for_requests(1)
    upstream.release_hangs()
    caller.join(5)
    assert answers[0].status_code == 503
    assert answers[0].json()["error"]["type"] == "api_error"


def test_cut_before_first_chunk_breaks_the_stream_after_its_headers(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.CUT_BEFORE_FIRST_CHUNK))
    with http.stream("POST", "/v1/messages", json=STREAM) as response:
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            response.read()


def test_cut_after_first_chunk_lets_message_start_and_one_delta_through(
    http: httpx.Client, upstream: FakeUpstream
) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.CUT_AFTER_FIRST_CHUNK))
    received: list[str] = []
    with http.stream("POST", "/v1/messages", json=STREAM) as response, pytest.raises(httpx.RemoteProtocolError):
        received.extend(line for line in response.iter_lines() if line.startswith("event: "))
    assert received == [
        "event: message_start",
        "event: content_block_start",
        "event: ping",
        "event: content_block_delta",
    ]


def test_slow_still_answers_normally(client: anthropic.Anthropic, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.SLOW, delay=0.01))
    assert ask(client, "hello world").content[0].text == "Echo: hello world"
    messages: Any = [{"role": "user", "content": "hello world"}]
    with client.messages.stream(model="fake-chat", max_tokens=64, messages=messages) as stream:
        assert stream.get_final_text() == "Echo: hello world"


def test_unknown_path_is_an_anthropic_404(http: httpx.Client, upstream: FakeUpstream) -> None:
    response = http.post("/v1/messages/nothing", json=HELLO)
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"
