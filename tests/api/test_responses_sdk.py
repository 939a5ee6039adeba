"""The official openai SDK's Responses API through real sockets, against each kind of upstream: an
OpenAI-compatible one that serves /responses itself (passed through), one that does not (translated to
chat), Anthropic and Gemini.

The SDK is imported inside the helpers and tests: importing it costs most of a second, which collecting the
rest of the suite should not pay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from keyproxy.testing import Fault, FaultKind
from support import KEYS, StartProxy, Upstream, opened, provider_env

if TYPE_CHECKING:
    import openai

NATIVE = "openai/fake-chat"
MODELS = [NATIVE, "fake/fake-chat", "anthropic/fake-chat", "gemini/fake-chat"]
TOOLS: list[Any] = [
    {"type": "function", "name": "lookup", "description": "weather",
     "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
]  # fmt: skip


def every_kind(base: str) -> dict[str, str]:
    """`openai` is catalogued as serving the Responses API itself; `fake` is a custom provider, translated."""
    root = base.removesuffix("/v1")
    env = provider_env(base)
    env.update(provider_env(base, name="openai"))
    env.update(provider_env(base, name="anthropic"))
    env.update(provider_env(root + "/v1beta", name="gemini"))
    return env


@pytest.fixture
def client(start_proxy: StartProxy, upstream: Upstream) -> openai.OpenAI:
    import openai

    url = start_proxy(providers=every_kind(upstream[1]))
    return opened(openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=20))


@pytest.mark.parametrize("model", MODELS)
def test_text_input_with_instructions_gets_a_completed_response(model: str, client: openai.OpenAI) -> None:
    response = client.responses.create(model=model, input="hello there", instructions="Answer briefly.")
    assert response.output_text == "Echo: hello there"
    assert response.status == "completed" and response.id.startswith("resp_")
    assert response.usage is not None and response.usage.input_tokens > 0 and response.usage.output_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_a_message_list_input_is_answered_from_its_last_user_message(model: str, client: openai.OpenAI) -> None:
    response = client.responses.create(
        model=model,
        input=[
            {"role": "developer", "content": "Be terse."},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "Echo: first"},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "second question"}]},
        ],
    )
    assert response.output_text == "Echo: second question"


@pytest.mark.parametrize("model", MODELS)
def test_a_stream_runs_from_created_to_completed_and_gives_the_final_response(
    model: str, client: openai.OpenAI
) -> None:
    with client.responses.stream(model=model, input="one two three") as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [event.type for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    for kind in ("response.output_item.added", "response.content_part.added", "response.output_text.done",
                 "response.content_part.done", "response.output_item.done"):  # fmt: skip
        assert kind in kinds
    deltas = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    assert deltas == final.output_text == "Echo: one two three"
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert final.usage is not None and final.usage.output_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_create_with_stream_true_yields_every_event_in_order(model: str, client: openai.OpenAI) -> None:
    events = list(client.responses.create(model=model, input="hi", stream=True))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    completed = events[-1]
    assert completed.type == "response.completed" and completed.response.output_text == "Echo: hi"


@pytest.mark.parametrize("model", MODELS)
def test_a_function_call_and_its_output_round_trip(model: str, client: openai.OpenAI) -> None:
    first = client.responses.create(model=model, input="weather?", tools=TOOLS)
    [call] = [item for item in first.output if item.type == "function_call"]
    assert call.name == "lookup" and call.arguments == '{"city":"fake"}'
    history: list[Any] = [{"role": "user", "content": "weather?"}, *[item.model_dump() for item in first.output]]
    history.append({"type": "function_call_output", "call_id": call.call_id, "output": "sunny"})
    second = client.responses.create(model=model, input=history, tools=TOOLS)
    assert second.output_text.startswith("Tool said: ") and "sunny" in second.output_text


@pytest.mark.parametrize("model", MODELS)
def test_a_function_call_output_continues_the_previous_response(model: str, client: openai.OpenAI) -> None:
    first = client.responses.create(model=model, input="weather?", tools=TOOLS)
    [call] = [item for item in first.output if item.type == "function_call"]
    second = client.responses.create(
        model=model, previous_response_id=first.id, tools=TOOLS,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
    )  # fmt: skip
    assert second.output_text.startswith("Tool said: ") and "sunny" in second.output_text
    assert second.previous_response_id == first.id


@pytest.mark.parametrize("model", MODELS)
def test_a_streamed_function_call_arrives_whole(model: str, client: openai.OpenAI) -> None:
    with client.responses.stream(model=model, input="weather?", tools=TOOLS) as stream:
        events = list(stream)
        final = stream.get_final_response()
    pieces = "".join(event.delta for event in events if event.type == "response.function_call_arguments.delta")
    [call] = [item for item in final.output if item.type == "function_call"]
    assert pieces == call.arguments == '{"city":"fake"}'
    assert "response.function_call_arguments.done" in [event.type for event in events]


@pytest.mark.parametrize("model", MODELS)
def test_previous_response_id_carries_the_conversation(model: str, client: openai.OpenAI, upstream: Upstream) -> None:
    first = client.responses.create(model=model, input="my name is Ada")
    second = client.responses.create(model=model, input="what is my name?", previous_response_id=first.id)
    assert second.output_text == "Echo: what is my name?"
    sent = upstream[0].requests[-1].body
    if model == NATIVE:
        assert sent["previous_response_id"] == first.id  # the upstream keeps the conversation itself
    else:
        assert "my name is Ada" in str(sent) and "Echo: my name is Ada" in str(sent)


@pytest.mark.parametrize("model", MODELS)
def test_a_stored_response_is_retrieved_then_deleted(model: str, client: openai.OpenAI) -> None:
    import openai

    created = client.responses.create(model=model, input="keep me")
    found = client.responses.retrieve(created.id)
    assert (found.id, found.output_text) == (created.id, "Echo: keep me")
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


@pytest.mark.parametrize("model", MODELS)
def test_a_response_not_stored_cannot_be_continued(model: str, client: openai.OpenAI) -> None:
    import openai

    created = client.responses.create(model=model, input="forget me", store=False)
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=model, input="again", previous_response_id=created.id)
    assert caught.value.code == "previous_response_not_found"


@pytest.mark.parametrize("model", MODELS)
def test_parse_with_a_json_schema_format_gives_the_parsed_object(model: str, client: openai.OpenAI) -> None:
    from pydantic import BaseModel

    class Weather(BaseModel):
        city: str
        degrees: int

    response = client.responses.parse(model=model, input="weather in Paris?", text_format=Weather)
    assert response.output_parsed == Weather(city="fake", degrees=0)


def test_a_json_object_format_for_an_anthropic_target_is_a_clear_400(client: openai.OpenAI) -> None:
    import openai

    form: Any = {"format": {"type": "json_object"}}
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="anthropic/fake-chat", input="hi", text=form)
    assert "json_object" in caught.value.message


@pytest.mark.parametrize("model", MODELS)
def test_every_key_rate_limited_raises_the_sdks_rate_limit_error(
    model: str, client: openai.OpenAI, upstream: Upstream
) -> None:
    import openai

    for key in KEYS:
        upstream[0].set_fault(key, Fault(FaultKind.RATE_LIMIT, retry_after=30))
    with pytest.raises(openai.RateLimitError) as caught:
        client.responses.create(model=model, input="hi")
    assert isinstance(caught.value.body, dict) and caught.value.body["message"]


@pytest.mark.parametrize("model", MODELS)
def test_a_rate_limited_key_fails_over_to_the_next(model: str, client: openai.OpenAI, upstream: Upstream) -> None:
    upstream[0].set_fault(KEYS[0], Fault(FaultKind.RATE_LIMIT, retry_after=30))
    assert client.responses.create(model=model, input="hi").output_text == "Echo: hi"
    assert [request.key for request in upstream[0].requests] == [KEYS[0], KEYS[1]]


def test_an_unknown_model_raises_the_sdks_not_found_error_with_its_code(client: openai.OpenAI) -> None:
    import openai

    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model="nowhere/model", input="hi")
    assert caught.value.code == "model_not_found"


def test_an_unknown_response_id_raises_not_found(client: openai.OpenAI) -> None:
    import openai

    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve("resp_does_not_exist")
