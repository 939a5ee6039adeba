"""What users run with the official SDKs, over real sockets, against every upstream protocol: the quick-start
stream loop, structured output (parse and its stream helper, messages.parse), adaptive thinking, the model
list of the anthropic SDK, and error classes with their codes.

The SDKs (and pydantic) are imported inside the helpers and tests that use them, so that collecting the rest of
the suite does not pay for them.
"""

from __future__ import annotations

from typing import Any

import pytest

from api.sdk_support import all_protocols, claude, gpt
from keyproxy.testing import Fault, FaultKind
from support import KEYS, StartProxy, Upstream

EVERY_UPSTREAM = ["fake/fake-chat", "anthropic/fake-chat", "gemini/fake-chat"]
TRANSLATED = ["anthropic/fake-chat", "gemini/fake-chat"]
HELLO: Any = [{"role": "user", "content": "one two"}]


@pytest.fixture
def url(start_proxy: StartProxy, upstream: Upstream) -> str:
    return start_proxy(providers=all_protocols(upstream[1]))


def person() -> Any:
    """A pydantic model as users pass to parse(): nested, with a list and an optional field."""
    import pydantic

    class Pet(pydantic.BaseModel):
        kind: str

    class Person(pydantic.BaseModel):
        name: str
        age: int
        tags: list[str]
        pet: Pet | None

    return Person


@pytest.mark.parametrize("model", TRANSLATED)
def test_the_quick_start_stream_loop_runs_against_translating_upstreams(model: str, url: str) -> None:
    stream = gpt(url).chat.completions.create(model=model, messages=HELLO, stream=True)
    text = ""
    for chunk in stream:
        text += chunk.choices[0].delta.content or ""  # the quick-start loop: IndexError on an empty choices
        assert chunk.usage is None
    assert text == "Echo: one two"


@pytest.mark.parametrize("model", TRANSLATED)
def test_stream_usage_comes_last_without_choices_when_asked_for(model: str, url: str) -> None:
    stream = gpt(url).chat.completions.create(
        model=model, messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert all(chunk.choices and chunk.usage is None for chunk in chunks[:-1])


@pytest.mark.parametrize("model", EVERY_UPSTREAM)
def test_parse_returns_the_pydantic_model(model: str, url: str) -> None:
    model_class = person()
    completion = gpt(url).chat.completions.parse(model=model, messages=HELLO, response_format=model_class)
    parsed = completion.choices[0].message.parsed
    assert parsed == model_class(name="fake", age=0, tags=["fake"], pet={"kind": "fake"})
    # A translated answer names the model as the client did; a native one is relayed as the upstream wrote it.
    assert completion.model == (model if model in TRANSLATED else "fake-chat")


@pytest.mark.parametrize("model", EVERY_UPSTREAM)
def test_the_stream_helper_parses_the_final_completion(model: str, url: str) -> None:
    model_class = person()
    with gpt(url).chat.completions.stream(model=model, messages=HELLO, response_format=model_class) as stream:
        final = stream.get_final_completion()
    assert isinstance(final.choices[0].message.parsed, model_class)


@pytest.mark.parametrize("model", EVERY_UPSTREAM)
def test_messages_parse_returns_the_pydantic_model(model: str, url: str) -> None:
    model_class = person()
    reply = claude(url).messages.parse(model=model, max_tokens=256, messages=HELLO, output_format=model_class)
    assert reply.parsed_output == model_class(name="fake", age=0, tags=["fake"], pet={"kind": "fake"})


@pytest.mark.parametrize("model", EVERY_UPSTREAM)
def test_adaptive_thinking_streams_to_a_final_message(model: str, url: str, upstream: Upstream) -> None:
    with claude(url).messages.stream(
        model=model, max_tokens=256, messages=HELLO, thinking={"type": "adaptive"}
    ) as stream:
        final = stream.get_final_message()
    assert final.content[-1].type == "text" and final.content[-1].text == "Echo: one two"
    sent = upstream[0].requests[-1].body
    if model == "fake/fake-chat":
        assert sent["reasoning_effort"] == "medium"
    elif model == "gemini/fake-chat":
        assert sent["generationConfig"]["thinkingConfig"]["includeThoughts"] is True
        assert final.content[0].type == "thinking"
    else:
        assert sent["thinking"] == {"type": "adaptive"}


def test_the_anthropic_sdk_lists_models_in_its_own_shape(url: str) -> None:
    page = claude(url).models.list(limit=2)
    ids = [model.id for model in page]  # iterating follows the pages with after_id
    assert {"fake/fake-chat", "anthropic/fake-chat", "gemini/fake-chat"} <= set(ids)
    assert len(ids) == len(set(ids))
    assert page.data[0].type == "model" and page.has_more is True


def test_the_anthropic_sdk_retrieves_one_model(url: str) -> None:
    assert claude(url).models.retrieve("gemini/fake-chat").display_name == "gemini/fake-chat"


@pytest.mark.parametrize(
    ("model", "code"),
    [
        ("fake/fake-chat", "context_length_exceeded"),
        # Anthropic and Gemini say the prompt is too long only in words: the code is their own type.
        ("anthropic/fake-chat", "invalid_request_error"),
        ("gemini/fake-chat", "invalid_argument"),
    ],
)
def test_an_openai_client_gets_a_bad_request_with_a_string_code(
    model: str, code: str, url: str, upstream: Upstream
) -> None:
    import openai

    upstream[0].set_fault(KEYS[0], Fault(FaultKind.BAD_REQUEST))
    with pytest.raises(openai.BadRequestError) as caught:
        gpt(url).chat.completions.create(model=model, messages=HELLO)
    assert caught.value.code == code
    assert caught.value.type == "invalid_request_error"
    assert "token" in caught.value.message  # the upstream's own words


@pytest.mark.parametrize("model", ["fake/fake-chat", "gemini/fake-chat"])
def test_an_anthropic_client_gets_a_bad_request_in_its_own_shape(model: str, url: str, upstream: Upstream) -> None:
    import anthropic

    upstream[0].set_fault(KEYS[0], Fault(FaultKind.BAD_REQUEST))
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude(url).messages.create(model=model, max_tokens=64, messages=HELLO)
    body: Any = caught.value.body
    assert (body["type"], body["error"]["type"]) == ("error", "invalid_request_error")
    assert "token" in body["error"]["message"]


@pytest.mark.parametrize("model", TRANSLATED)
def test_a_field_the_upstream_cannot_honour_is_a_bad_request_naming_it(model: str, url: str) -> None:
    import openai

    with pytest.raises(openai.BadRequestError, match="logit_bias"):
        gpt(url).chat.completions.create(model=model, messages=HELLO, logit_bias={"1": 5})


def test_gemini_answers_n_choices_with_logprobs(url: str) -> None:
    completion = gpt(url).chat.completions.create(
        model="gemini/fake-chat", messages=HELLO, n=2, logprobs=True, top_logprobs=2
    )
    assert [choice.index for choice in completion.choices] == [0, 1]
    logprobs = completion.choices[1].logprobs
    assert logprobs is not None and logprobs.content is not None
    assert "".join(token.token for token in logprobs.content) == "Echo: one two"
    assert all(len(token.top_logprobs) == 2 for token in logprobs.content)


@pytest.mark.parametrize("model", TRANSLATED)
def test_several_tool_calls_come_back_in_one_turn(model: str, url: str) -> None:
    tools: Any = [
        {"type": "function", "function": {"name": name, "parameters": {"type": "object", "properties": {}}}}
        for name in ("lookup", "clock")
    ]
    messages: Any = [{"role": "user", "content": "use lookup and clock"}]
    completion = gpt(url).chat.completions.create(model=model, messages=messages, tools=tools)
    calls = completion.choices[0].message.tool_calls or []
    assert [call.function.name for call in calls] == ["lookup", "clock"]
    assert completion.choices[0].finish_reason == "tool_calls"
