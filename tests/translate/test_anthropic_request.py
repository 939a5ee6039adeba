from __future__ import annotations

from typing import Any

import pytest

from keyproxy.errors import InvalidRequest
from keyproxy.translate.anthropic_request import chat_to_messages

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def convert(messages: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return chat_to_messages({"model": "claude-sonnet-4-5", "messages": messages, **fields})


def say(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def test_a_plain_user_message_becomes_one_text_block() -> None:
    assert convert(say("Hi"))["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]


def test_model_is_passed_through() -> None:
    assert convert(say("Hi"))["model"] == "claude-sonnet-4-5"


def test_system_and_developer_messages_are_lifted_into_system_text_blocks() -> None:
    out = convert(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]},
            {"role": "user", "content": "Hi"},
        ]
    )
    assert out["system"] == [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Use metric units."}]
    assert [m["role"] for m in out["messages"]] == ["user"]


def test_no_system_field_without_system_messages() -> None:
    assert "system" not in convert(say("Hi"))


def test_an_image_in_a_system_message_is_rejected() -> None:
    image = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    with pytest.raises(InvalidRequest, match="system"):
        convert([{"role": "system", "content": [image]}, *say("Hi")])


def test_consecutive_messages_of_one_role_are_merged() -> None:
    out = convert([{"role": "user", "content": "one"}, {"role": "user", "content": "two"}])
    assert out["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]}
    ]


def test_a_leading_assistant_message_is_kept_not_padded_with_a_user_turn() -> None:
    out = convert([{"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Hi"}])
    assert [m["role"] for m in out["messages"]] == ["assistant", "user"]


def test_text_parts_become_text_blocks() -> None:
    parts = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    assert convert([{"role": "user", "content": parts}])["messages"][0]["content"] == [
        {"type": "text", "text": "a"},
        {"type": "text", "text": "b"},
    ]


def test_a_data_url_image_becomes_a_base64_source_with_its_media_type() -> None:
    part = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high"}}
    block = convert([{"role": "user", "content": [part]}])["messages"][0]["content"][0]
    assert block == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}


def test_an_https_image_becomes_a_url_source() -> None:
    part = {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
    block = convert([{"role": "user", "content": [part]}])["messages"][0]["content"][0]
    assert block == {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}


def test_a_data_url_that_is_not_base64_is_rejected() -> None:
    part = {"type": "image_url", "image_url": {"url": "data:image/svg+xml,<svg/>"}}
    with pytest.raises(InvalidRequest, match="base64"):
        convert([{"role": "user", "content": [part]}])


def test_an_image_url_with_another_scheme_is_rejected() -> None:
    part = {"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}
    with pytest.raises(InvalidRequest, match="image_url"):
        convert([{"role": "user", "content": [part]}])


def test_a_pdf_file_part_becomes_a_base64_document() -> None:
    file = {"filename": "report.pdf", "file_data": "data:application/pdf;base64,JVBERi0x"}
    block = convert([{"role": "user", "content": [{"type": "file", "file": file}]}])["messages"][0]["content"][0]
    assert block == {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"},
    }


def test_a_file_part_by_id_is_rejected() -> None:
    with pytest.raises(InvalidRequest, match="file"):
        convert([{"role": "user", "content": [{"type": "file", "file": {"file_id": "file-abc"}}]}])


def test_an_audio_part_is_rejected_by_type() -> None:
    part = {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
    with pytest.raises(InvalidRequest, match="input_audio"):
        convert([{"role": "user", "content": [part]}])


def test_cache_control_on_a_part_is_kept() -> None:
    part = {"type": "text", "text": "long context", "cache_control": {"type": "ephemeral"}}
    block = convert([{"role": "user", "content": [part]}])["messages"][0]["content"][0]
    assert block == {"type": "text", "text": "long context", "cache_control": {"type": "ephemeral"}}


def test_assistant_tool_calls_become_tool_use_blocks_after_the_text() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    out = convert([*say("Weather?"), {"role": "assistant", "content": "Checking.", "tool_calls": [call]}])
    assert out["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
        ],
    }


def test_an_empty_assistant_content_beside_tool_calls_adds_no_empty_text_block() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    out = convert([*say("Weather?"), {"role": "assistant", "content": "", "tool_calls": [call]}])
    assert [block["type"] for block in out["messages"][1]["content"]] == ["tool_use"]


def test_empty_tool_arguments_mean_an_empty_input() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "now", "arguments": ""}}
    out = convert([*say("Time?"), {"role": "assistant", "content": None, "tool_calls": [call]}])
    assert out["messages"][1]["content"][0]["input"] == {}


def test_invalid_tool_arguments_are_rejected_naming_the_call() -> None:
    call = {"id": "call_9", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": '}}
    with pytest.raises(InvalidRequest, match="call_9"):
        convert([*say("Weather?"), {"role": "assistant", "content": None, "tool_calls": [call]}])


def test_tool_arguments_that_are_not_an_object_are_rejected() -> None:
    call = {"id": "call_9", "type": "function", "function": {"name": "get_weather", "arguments": "[1, 2]"}}
    with pytest.raises(InvalidRequest, match="call_9"):
        convert([*say("Weather?"), {"role": "assistant", "content": None, "tool_calls": [call]}])


def test_unsigned_reasoning_in_assistant_history_is_dropped() -> None:
    out = convert([*say("Hi"), {"role": "assistant", "content": "Hello", "reasoning_content": "greet back"}])
    assert out["messages"][1]["content"] == [{"type": "text", "text": "Hello"}]


def test_signed_reasoning_details_go_back_as_thinking_blocks_before_the_text() -> None:
    details = [
        {"type": "reasoning.text", "text": "greet back", "signature": "EuYB"},
        {"type": "reasoning.encrypted", "data": "EmwK"},
    ]
    assistant = {"role": "assistant", "content": "Hello", "reasoning_details": details}
    out = convert([*say("Hi"), assistant])
    assert out["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "greet back", "signature": "EuYB"},
        {"type": "redacted_thinking", "data": "EmwK"},
        {"type": "text", "text": "Hello"},
    ]


def test_thinking_is_left_off_a_request_whose_last_tool_turn_lost_its_signed_reasoning() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    messages = [
        *say("Weather?"),
        {"role": "assistant", "content": None, "reasoning_content": "look it up", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
    ]
    assert "thinking" not in convert(messages, reasoning_effort="high")


def test_thinking_stays_on_when_the_last_tool_turn_kept_its_signed_reasoning() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    details = [{"type": "reasoning.text", "text": "look it up", "signature": "EuYB"}]
    messages = [
        *say("Weather?"),
        {"role": "assistant", "content": None, "reasoning_details": details, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
    ]
    assert convert(messages, reasoning_effort="high")["thinking"]["type"] == "enabled"


def test_consecutive_tool_messages_become_one_user_message_of_tool_results() -> None:
    calls = [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
        {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}},
    ]
    out = convert(
        [
            *say("Weather in Paris and Rome?"),
            {"role": "assistant", "content": None, "tool_calls": calls},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "24C"}]},
        ]
    )
    assert out["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
            {"type": "tool_result", "tool_use_id": "call_2", "content": [{"type": "text", "text": "24C"}]},
        ],
    }


def test_a_user_message_after_tool_results_joins_them_after_the_results() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    out = convert(
        [
            *say("Weather?"),
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {"role": "user", "content": "And tomorrow?"},
        ]
    )
    assert [block["type"] for block in out["messages"][2]["content"]] == ["tool_result", "text"]


def test_an_unknown_role_is_rejected() -> None:
    with pytest.raises(InvalidRequest, match="function"):
        convert([{"role": "function", "name": "f", "content": "x"}])


def test_a_message_without_a_role_is_rejected_as_malformed() -> None:
    with pytest.raises(InvalidRequest, match="malformed"):
        convert([{"content": "x"}])


def test_tools_become_name_description_and_input_schema() -> None:
    out = convert(say("Weather?"), tools=[WEATHER_TOOL])
    assert out["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        }
    ]


def test_a_tool_without_parameters_gets_an_empty_object_schema() -> None:
    out = convert(say("Time?"), tools=[{"type": "function", "function": {"name": "now"}}])
    assert out["tools"] == [{"name": "now", "input_schema": {"type": "object", "properties": {}}}]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        ({"type": "function", "function": {"name": "get_weather"}}, {"type": "tool", "name": "get_weather"}),
    ],
)
def test_tool_choice_maps_to_its_anthropic_form(choice: Any, expected: dict[str, Any]) -> None:
    assert convert(say("Weather?"), tools=[WEATHER_TOOL], tool_choice=choice)["tool_choice"] == expected


def test_an_unknown_tool_choice_is_rejected() -> None:
    with pytest.raises(InvalidRequest, match="tool_choice"):
        convert(say("Weather?"), tools=[WEATHER_TOOL], tool_choice="sometimes")


def test_parallel_tool_calls_false_disables_parallel_use_on_the_tool_choice() -> None:
    out = convert(say("Weather?"), tools=[WEATHER_TOOL], tool_choice="required", parallel_tool_calls=False)
    assert out["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}


def test_parallel_tool_calls_false_without_a_tool_choice_makes_an_auto_one() -> None:
    out = convert(say("Weather?"), tools=[WEATHER_TOOL], parallel_tool_calls=False)
    assert out["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


def test_a_tool_choice_without_tools_is_dropped() -> None:
    assert "tool_choice" not in convert(say("Hi"), tool_choice="none")


def test_max_completion_tokens_becomes_max_tokens() -> None:
    assert convert(say("Hi"), max_completion_tokens=300, max_tokens=100)["max_tokens"] == 300


def test_max_tokens_is_kept() -> None:
    assert convert(say("Hi"), max_tokens=100)["max_tokens"] == 100


def test_max_tokens_defaults_when_absent() -> None:
    assert chat_to_messages({"messages": say("Hi")}, default_max_tokens=777)["max_tokens"] == 777


def test_a_stop_string_becomes_a_one_item_stop_sequence_list() -> None:
    assert convert(say("Hi"), stop="END")["stop_sequences"] == ["END"]


def test_a_stop_list_becomes_stop_sequences() -> None:
    assert convert(say("Hi"), stop=["a", "b"])["stop_sequences"] == ["a", "b"]


def test_sampling_fields_and_stream_are_passed_through() -> None:
    out = convert(say("Hi"), temperature=0.2, top_p=0.9, top_k=40, stream=True)
    assert (out["temperature"], out["top_p"], out["top_k"], out["stream"]) == (0.2, 0.9, 40, True)


def test_user_becomes_metadata_user_id() -> None:
    assert convert(say("Hi"), user="u-42")["metadata"] == {"user_id": "u-42"}


@pytest.mark.parametrize(("effort", "budget"), [("low", 1024), ("medium", 4096), ("high", 16384)])
def test_reasoning_effort_becomes_a_thinking_budget(effort: str, budget: int) -> None:
    out = convert(say("Hi"), reasoning_effort=effort, max_tokens=32000)
    assert out["thinking"] == {"type": "enabled", "budget_tokens": budget}


def test_max_tokens_is_raised_above_the_thinking_budget() -> None:
    out = chat_to_messages(
        {"messages": say("Hi"), "reasoning_effort": "high", "max_tokens": 2000}, default_max_tokens=4096
    )
    assert out["max_tokens"] == 16384 + 4096


def test_reasoning_effort_none_asks_for_no_thinking() -> None:
    assert "thinking" not in convert(say("Hi"), reasoning_effort="none")


def test_an_unknown_reasoning_effort_is_rejected() -> None:
    with pytest.raises(InvalidRequest, match="extreme"):
        convert(say("Hi"), reasoning_effort="extreme")


def test_n_above_one_is_rejected() -> None:
    with pytest.raises(InvalidRequest, match="n > 1"):
        convert(say("Hi"), n=2)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("logprobs", True),
        ("top_logprobs", 3),
        ("presence_penalty", 0.5),
        ("frequency_penalty", 0.5),
        ("seed", 7),
        ("logit_bias", {"1": 2}),
        ("audio", {"voice": "alloy", "format": "wav"}),
        ("modalities", ["text", "audio"]),
        ("functions", [{"name": "f"}]),
        ("web_search_options", {}),
        ("verbosity", "low"),
        ("store", True),
        ("service_tier", "flex"),
        ("min_p", 0.1),
    ],
)
def test_a_field_anthropic_cannot_honour_is_refused_naming_it(field: str, value: Any) -> None:
    with pytest.raises(InvalidRequest, match=f"{field}.*Anthropic"):
        convert(say("Hi"), **{field: value})


def test_fields_at_their_default_ask_for_nothing_and_pass() -> None:
    out = convert(
        say("Hi"),
        n=1,
        logprobs=False,
        presence_penalty=0,
        frequency_penalty=0.0,
        seed=None,
        logit_bias={},
        store=False,
        modalities=["text"],
        response_format={"type": "text"},
        stream_options={"include_usage": True},
        metadata={"run": "7"},
        prompt_cache_key="k",
    )
    assert set(out) == {"model", "messages", "max_tokens"}


def test_json_schema_response_format_becomes_output_config_format() -> None:
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer"}},
        "required": ["n"],
        "additionalProperties": False,
    }
    response_format = {"type": "json_schema", "json_schema": {"name": "out", "strict": True, "schema": schema}}
    out = convert(say("Hi"), response_format=response_format)
    assert out["output_config"] == {"format": {"type": "json_schema", "schema": schema}}


def test_an_open_object_in_a_json_schema_is_closed_as_anthropic_requires() -> None:
    schema = {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "object"}}}}
    response_format = {"type": "json_schema", "json_schema": {"name": "out", "schema": schema}}
    sent = convert(say("Hi"), response_format=response_format)["output_config"]["format"]["schema"]
    assert sent["additionalProperties"] is False
    assert sent["properties"]["tags"]["items"] == {"type": "object", "additionalProperties": False}
    assert "additionalProperties" not in schema  # the client's schema is left as it was


def test_the_json_schema_description_describes_the_schema() -> None:
    spec = {"name": "out", "description": "A person", "schema": {"type": "object", "properties": {}}}
    out = convert(say("Hi"), response_format={"type": "json_schema", "json_schema": spec})
    assert out["output_config"]["format"]["schema"]["description"] == "A person"


def test_json_object_response_format_is_refused_naming_json_schema() -> None:
    with pytest.raises(InvalidRequest, match=r"json_object.*json_schema"):
        convert(say("Hi"), response_format={"type": "json_object"})


def test_a_strict_function_becomes_a_strict_tool() -> None:
    tool = {"type": "function", "function": {**WEATHER_TOOL["function"], "strict": True}}  # type: ignore[dict-item]
    assert convert(say("Hi"), tools=[tool])["tools"][0]["strict"] is True


def test_safety_identifier_becomes_metadata_user_id() -> None:
    assert convert(say("Hi"), safety_identifier="hash-1")["metadata"] == {"user_id": "hash-1"}


@pytest.mark.parametrize(("tier", "expected"), [("auto", "auto"), ("default", "standard_only")])
def test_service_tier_maps_to_anthropics(tier: str, expected: str) -> None:
    assert convert(say("Hi"), service_tier=tier)["service_tier"] == expected
