"""Responses API requests as chat-completions requests: pure, and a 400 for whatever chat cannot carry."""

from __future__ import annotations

from typing import Any

import pytest

from keyproxy.errors import InvalidRequest
from keyproxy.translate.responses_request import input_items, replayable, responses_to_chat


def chat(**request: Any) -> dict[str, Any]:
    return responses_to_chat({"model": "m", "input": "hi", **request})


def test_a_text_input_is_one_user_message() -> None:
    assert chat()["messages"] == [{"role": "user", "content": "hi"}]


def test_instructions_become_a_leading_system_message() -> None:
    assert chat(instructions="Be brief.")["messages"][0] == {"role": "system", "content": "Be brief."}


def test_developer_messages_become_system_messages_with_their_text_joined() -> None:
    content = [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}]
    messages = chat(input=[{"role": "developer", "content": content}])["messages"]
    assert messages == [{"role": "system", "content": "a\nb"}]


def test_input_text_and_image_parts_become_chat_parts() -> None:
    content = [{"type": "input_text", "text": "look"},
               {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "low"}]  # fmt: skip
    [message] = chat(input=[{"type": "message", "role": "user", "content": content}])["messages"]
    assert message["content"] == [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}},
    ]


def test_an_input_file_with_data_becomes_a_chat_file_part() -> None:
    part = {"type": "input_file", "filename": "a.pdf", "file_data": "data:application/pdf;base64,AAAA"}
    [message] = chat(input=[{"role": "user", "content": [part]}])["messages"]
    assert message["content"] == [{"type": "file", "file": {"file_data": part["file_data"], "filename": "a.pdf"}}]


@pytest.mark.parametrize(
    "part",
    [{"type": "input_image", "file_id": "file_1"}, {"type": "input_file", "file_id": "file_1"},
     {"type": "computer_screenshot"}],
)  # fmt: skip
def test_parts_chat_cannot_carry_are_refused(part: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest):
        chat(input=[{"role": "user", "content": [part]}])


def test_readable_reasoning_goes_back_as_the_assistant_turns_reasoning_content() -> None:
    items = [
        {"role": "user", "content": "weather?"},
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Look it up."}]},
        {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
    ]
    assistant = chat(input=items)["messages"][1]
    assert assistant["reasoning_content"] == "Look it up."
    assert assistant["tool_calls"][0]["id"] == "c1"


def test_reasoning_text_is_preferred_to_its_summary_and_encrypted_reasoning_is_dropped() -> None:
    items = [
        {"role": "user", "content": "hi"},
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "short"}],
         "content": [{"type": "reasoning_text", "text": "the whole thought"}]},
        {"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": "gAAAA"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hello"}]},
    ]  # fmt: skip
    assert chat(input=items)["messages"][1] == {
        "role": "assistant", "content": "Hello", "reasoning_content": "the whole thought"}  # fmt: skip


def test_reasoning_that_led_to_no_answer_makes_no_assistant_turn() -> None:
    items = [
        {"role": "user", "content": "hi"},
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "hmm"}]},
        {"role": "user", "content": "still there?"},
    ]
    assert [message["role"] for message in chat(input=items)["messages"]] == ["user", "user"]


def test_assistant_text_and_function_calls_make_one_assistant_turn_before_the_results() -> None:
    items = [
        {"role": "user", "content": "weather?"},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Let me look."}]},
        {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": '{"city":"Paris"}'},
        {"type": "function_call", "call_id": "c2", "name": "lookup", "arguments": '{"city":"Rome"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "rain"}]},
    ]
    assert chat(input=items)["messages"] == [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": "Let me look.", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": '{"city":"Paris"}'}},
            {"id": "c2", "type": "function", "function": {"name": "lookup", "arguments": '{"city":"Rome"}'}},
        ]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "c2", "content": "rain"},
    ]  # fmt: skip


def test_a_function_call_alone_is_an_assistant_turn_without_content() -> None:
    items = [{"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}]
    [message] = chat(input=items)["messages"]
    assert message["content"] is None and message["tool_calls"][0]["id"] == "c1"


def test_a_function_call_output_with_an_image_is_refused_rather_than_dropped() -> None:
    output = [{"type": "input_image", "image_url": "https://x.test/a.png"}]
    with pytest.raises(InvalidRequest, match="function_call_output"):
        chat(input=[{"type": "function_call_output", "call_id": "c", "output": output}])


def test_the_prior_conversation_comes_before_the_input() -> None:
    prior = [{"type": "message", "role": "user", "content": "a"},
             {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "b"}]}]  # fmt: skip
    converted = responses_to_chat({"model": "m", "input": "c"}, prior)
    assert [message["content"] for message in converted["messages"]] == ["a", "b", "c"]


def test_function_tools_and_a_named_tool_choice_become_chat_tools() -> None:
    tool = {"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}, "strict": True}
    converted = chat(tools=[tool], tool_choice={"type": "function", "name": "f"}, parallel_tool_calls=False)
    assert converted["tools"] == [{"type": "function", "function": {
        "name": "f", "description": "d", "parameters": {"type": "object"}, "strict": True}}]  # fmt: skip
    assert converted["tool_choice"] == {"type": "function", "function": {"name": "f"}}
    assert converted["parallel_tool_calls"] is False


def test_a_tool_choice_without_tools_is_not_sent() -> None:
    assert "tool_choice" not in chat(tool_choice="auto")


@pytest.mark.parametrize("tool", [{"type": "web_search"}, {"type": "file_search", "vector_store_ids": []}])
def test_hosted_tools_are_refused(tool: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest, match="hosted"):
        chat(tools=[tool])


def test_a_json_schema_format_becomes_a_response_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    converted = chat(text={"format": {"type": "json_schema", "name": "n", "schema": schema, "strict": True}})
    assert converted["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "n", "schema": schema, "strict": True}}  # fmt: skip


def test_a_json_object_format_and_verbosity_are_carried() -> None:
    converted = chat(text={"format": {"type": "json_object"}, "verbosity": "low"})
    assert (converted["response_format"], converted["verbosity"]) == ({"type": "json_object"}, "low")


def test_a_text_format_is_no_response_format() -> None:
    assert "response_format" not in chat(text={"format": {"type": "text"}})


def test_sampling_limits_and_user_are_carried() -> None:
    converted = chat(max_output_tokens=100, temperature=0.2, top_p=0.9, safety_identifier="u1",
                     reasoning={"effort": "high", "summary": "auto"})  # fmt: skip
    assert {key: converted[key] for key in ("max_tokens", "temperature", "top_p", "user", "reasoning_effort")} == {
        "max_tokens": 100, "temperature": 0.2, "top_p": 0.9, "user": "u1", "reasoning_effort": "high"}  # fmt: skip


def test_a_stream_asks_for_usage() -> None:
    converted = chat(stream=True)
    assert (converted["stream"], converted["stream_options"]) == (True, {"include_usage": True})


def test_gateway_fields_and_hints_are_not_sent_to_chat() -> None:
    converted = chat(store=True, previous_response_id="resp_1", metadata={"a": "b"}, prompt_cache_key="k",
                     service_tier="auto", include=["reasoning.encrypted_content"])  # fmt: skip
    assert set(converted) == {"model", "messages"}


@pytest.mark.parametrize(
    ("field", "value"),
    [("conversation", "conv_1"), ("prompt", {"id": "p"}), ("truncation", "auto"), ("background", True),
     ("top_logprobs", 2), ("include", ["message.output_text.logprobs"])],
)  # fmt: skip
def test_fields_chat_cannot_honour_are_refused_naming_them(field: str, value: object) -> None:
    with pytest.raises(InvalidRequest, match=field):
        chat(**{field: value})


def test_an_item_reference_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="item_reference"):
        chat(input=[{"type": "item_reference", "id": "msg_1"}])


def test_an_input_that_is_neither_text_nor_items_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="input"):
        input_items({"input": 3})


def test_replayed_items_lose_their_ids_and_reasoning() -> None:
    items = [{"type": "reasoning", "id": "rs_1", "summary": []},
             {"type": "message", "id": "msg_1", "role": "assistant", "content": []},
             {"type": "function_call", "id": "fc_1", "call_id": "c", "name": "f", "arguments": "{}"}]  # fmt: skip
    assert replayable(items) == [{"type": "message", "role": "assistant", "content": []},
                                 {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}]  # fmt: skip
