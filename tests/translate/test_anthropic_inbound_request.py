from __future__ import annotations

from typing import Any

import pytest

from keyproxy.errors import InvalidRequest
from keyproxy.translate.anthropic_inbound_request import messages_to_chat
from keyproxy.translate.anthropic_request import chat_to_messages

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def convert(messages: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return messages_to_chat({"model": "gpt-4o", "max_tokens": 1024, "messages": messages, **fields})


def user(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": list(blocks)}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def test_a_string_user_message_stays_a_string() -> None:
    assert convert([{"role": "user", "content": "Hi"}])["messages"] == [{"role": "user", "content": "Hi"}]


def test_a_lone_text_block_becomes_plain_string_content() -> None:
    assert convert([user(text("Hi"))])["messages"] == [{"role": "user", "content": "Hi"}]


def test_several_blocks_become_content_parts() -> None:
    assert convert([user(text("a"), text("b"))])["messages"][0]["content"] == [
        {"type": "text", "text": "a"},
        {"type": "text", "text": "b"},
    ]


def test_model_and_max_tokens_are_passed_through() -> None:
    out = convert([user(text("Hi"))])
    assert (out["model"], out["max_tokens"]) == ("gpt-4o", 1024)


def test_a_string_system_becomes_a_leading_system_message() -> None:
    out = convert([user(text("Hi"))], system="Be brief.")
    assert out["messages"][0] == {"role": "system", "content": "Be brief."}


def test_system_text_blocks_are_joined_into_one_system_message() -> None:
    out = convert([user(text("Hi"))], system=[text("Be brief."), text("Use metric units.")])
    assert out["messages"][0] == {"role": "system", "content": "Be brief.\nUse metric units."}


def test_a_base64_image_becomes_a_data_url() -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}}
    part = convert([user(image, text("What is it?"))])["messages"][0]["content"][0]
    assert part == {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}}


def test_a_url_image_becomes_an_image_url() -> None:
    image = {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
    part = convert([user(image, text("What is it?"))])["messages"][0]["content"][0]
    assert part == {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}


def test_an_image_from_the_files_api_is_rejected() -> None:
    image = {"type": "image", "source": {"type": "file", "file_id": "file_011"}}
    with pytest.raises(InvalidRequest, match="file"):
        convert([user(image)])


def test_a_plain_text_document_becomes_a_text_part() -> None:
    document = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "The grass is green."},
    }
    assert convert([user(document)])["messages"][0]["content"] == "The grass is green."


def test_a_content_document_becomes_the_text_of_its_blocks() -> None:
    document = {"type": "document", "source": {"type": "content", "content": [text("one"), text("two")]}}
    assert convert([user(document)])["messages"][0]["content"] == "one\ntwo"


def test_a_base64_pdf_document_becomes_a_file_part() -> None:
    document = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"}}
    part = convert([user(document, text("Summarise"))])["messages"][0]["content"][0]
    assert part == {
        "type": "file",
        "file": {"filename": "document.pdf", "file_data": "data:application/pdf;base64,JVBERi0x"},
    }


def test_a_pdf_document_by_url_is_rejected() -> None:
    document = {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}}
    with pytest.raises(InvalidRequest, match="url"):
        convert([user(document)])


def test_an_unknown_block_type_is_rejected_by_name() -> None:
    with pytest.raises(InvalidRequest, match="search_result"):
        convert([user({"type": "search_result", "source": "x", "title": "t", "content": []})])


def test_tool_use_blocks_become_tool_calls_with_json_arguments() -> None:
    assistant = {
        "role": "assistant",
        "content": [
            text("Checking."),
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
        ],
    }
    out = convert([user(text("Weather?")), assistant])
    assert out["messages"][1] == {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
        ],
    }


def test_an_assistant_turn_of_only_tool_calls_has_null_content() -> None:
    call = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
    out = convert([user(text("Weather?")), {"role": "assistant", "content": [call]}])
    assert out["messages"][1]["content"] is None


def test_thinking_in_assistant_history_is_carried_as_reasoning_with_its_signed_blocks() -> None:
    assistant = {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "EuYB"},
            {"type": "redacted_thinking", "data": "EmwK"},
            text("Hello"),
        ],
    }
    assert convert([user(text("Hi")), assistant])["messages"][1] == {
        "role": "assistant",
        "content": "Hello",
        "reasoning_content": "hmm",
        "reasoning_details": [
            {"type": "reasoning.text", "text": "hmm", "signature": "EuYB"},
            {"type": "reasoning.encrypted", "data": "EmwK"},
        ],
    }


def test_a_tool_turns_thinking_survives_the_round_trip_back_to_anthropic() -> None:
    thinking = {"type": "thinking", "thinking": "I need the weather.", "signature": "EuYB"}
    call = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"}
    messages = [user(text("Weather?")), {"role": "assistant", "content": [thinking, call]}, user(result)]
    chat = convert(messages, tools=[WEATHER_TOOL], thinking={"type": "enabled", "budget_tokens": 2048})
    back = chat_to_messages(chat)
    assert back["messages"][1]["content"] == [thinking, call]
    assert back["thinking"]["type"] == "enabled"


def test_tool_results_become_tool_messages_before_the_rest_of_the_user_turn() -> None:
    turn = user(
        text("Also, tomorrow?"),
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
        {"type": "tool_result", "tool_use_id": "toolu_2", "content": [text("24C")]},
    )
    assert convert([turn])["messages"] == [
        {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": "24C"},
        {"role": "user", "content": "Also, tomorrow?"},
    ]


def test_a_user_turn_of_only_tool_results_adds_no_user_message() -> None:
    turn = user({"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"})
    assert [m["role"] for m in convert([turn])["messages"]] == ["tool"]


def test_images_inside_a_tool_result_are_dropped_keeping_its_text() -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}
    turn = user({"type": "tool_result", "tool_use_id": "toolu_1", "content": [text("a chart"), image]})
    assert convert([turn])["messages"][0]["content"] == "a chart"


def test_a_tool_result_without_content_is_an_empty_string() -> None:
    turn = user({"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True})
    assert convert([turn])["messages"][0] == {"role": "tool", "tool_call_id": "toolu_1", "content": ""}


def test_tools_become_function_tools() -> None:
    assert convert([user(text("Weather?"))], tools=[WEATHER_TOOL])["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": WEATHER_TOOL["input_schema"],
            },
        }
    ]


def test_a_server_tool_is_rejected_by_type() -> None:
    with pytest.raises(InvalidRequest, match="web_search_20250305"):
        convert([user(text("News?"))], tools=[{"type": "web_search_20250305", "name": "web_search"}])


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, "auto"),
        ({"type": "any"}, "required"),
        ({"type": "none"}, "none"),
        ({"type": "tool", "name": "get_weather"}, {"type": "function", "function": {"name": "get_weather"}}),
    ],
)
def test_tool_choice_maps_to_its_openai_form(choice: dict[str, Any], expected: Any) -> None:
    assert convert([user(text("Weather?"))], tools=[WEATHER_TOOL], tool_choice=choice)["tool_choice"] == expected


def test_disable_parallel_tool_use_sets_parallel_tool_calls_false() -> None:
    choice = {"type": "auto", "disable_parallel_tool_use": True}
    assert convert([user(text("Weather?"))], tools=[WEATHER_TOOL], tool_choice=choice)["parallel_tool_calls"] is False


def test_stop_sequences_become_stop() -> None:
    assert convert([user(text("Hi"))], stop_sequences=["END"])["stop"] == ["END"]


def test_sampling_fields_are_passed_through() -> None:
    out = convert([user(text("Hi"))], temperature=0.3, top_p=0.8, top_k=20)
    assert (out["temperature"], out["top_p"], out["top_k"]) == (0.3, 0.8, 20)


def test_metadata_user_id_becomes_user() -> None:
    assert convert([user(text("Hi"))], metadata={"user_id": "u-42"})["user"] == "u-42"


@pytest.mark.parametrize(
    ("budget", "effort"), [(1024, "low"), (2047, "low"), (2048, "medium"), (8191, "medium"), (8192, "high")]
)
def test_a_thinking_budget_becomes_a_reasoning_effort(budget: int, effort: str) -> None:
    out = convert([user(text("Hi"))], thinking={"type": "enabled", "budget_tokens": budget})
    assert out["reasoning_effort"] == effort


def test_disabled_thinking_sets_no_reasoning_effort() -> None:
    assert "reasoning_effort" not in convert([user(text("Hi"))], thinking={"type": "disabled"})


def test_stream_asks_for_usage_in_the_stream() -> None:
    out = convert([user(text("Hi"))], stream=True)
    assert (out["stream"], out["stream_options"]) == (True, {"include_usage": True})


def test_a_message_without_content_is_rejected_as_malformed() -> None:
    with pytest.raises(InvalidRequest, match="malformed"):
        convert([{"role": "user"}])


def test_a_round_trip_keeps_the_essentials_of_a_tool_conversation() -> None:
    original = {
        "model": "m",
        "max_tokens": 8000,
        "system": [text("Be brief.")],
        "messages": [
            user(text("Weather in Paris?")),
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Their city is Paris.", "signature": "EuYB"},
                    text("Checking."),
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                ],
            },
            user({"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"}, text("Thanks")),
        ],
        "tools": [WEATHER_TOOL],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "stop_sequences": ["END"],
        "temperature": 0.5,
        "metadata": {"user_id": "u-42"},
        "thinking": {"type": "enabled", "budget_tokens": 4096},
        "stream": True,
    }
    back = chat_to_messages(messages_to_chat(original))
    assert back["messages"] == [
        user(text("Weather in Paris?")),
        original["messages"][1],
        user({"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"}, text("Thanks")),
    ]
    for key in ("model", "max_tokens", "system", "tools", "tool_choice", "stop_sequences", "temperature", "metadata"):
        assert back[key] == original[key], key
    assert back["thinking"] == original["thinking"]
    assert back["stream"] is True


def test_a_round_trip_keeps_images_and_documents() -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}
    linked = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    pdf = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"}}
    original = {"model": "m", "max_tokens": 10, "messages": [user(image, linked, pdf, text("Compare"))]}
    assert chat_to_messages(messages_to_chat(original))["messages"] == original["messages"]


PERSON = {
    "type": "object",
    "title": "Person",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}


def test_output_config_format_becomes_a_json_schema_response_format() -> None:
    out = convert([user(text("Hi"))], output_config={"format": {"type": "json_schema", "schema": PERSON}})
    assert out["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Person", "schema": PERSON, "strict": True},
    }


def test_the_older_output_format_field_is_read_too() -> None:
    out = convert([user(text("Hi"))], output_format={"type": "json_schema", "schema": PERSON})
    assert out["response_format"]["json_schema"]["schema"] == PERSON


def test_a_schema_with_optional_properties_is_sent_without_strict_mode() -> None:
    schema = {**PERSON, "required": ["name"]}
    out = convert([user(text("Hi"))], output_config={"format": {"type": "json_schema", "schema": schema}})
    assert out["response_format"]["json_schema"]["strict"] is False


def test_a_schema_title_that_is_no_valid_name_gives_a_generic_name() -> None:
    schema = {**PERSON, "title": "A person!"}
    out = convert([user(text("Hi"))], output_config={"format": {"type": "json_schema", "schema": schema}})
    assert out["response_format"]["json_schema"]["name"] == "response"


def test_a_malformed_output_format_is_refused() -> None:
    with pytest.raises(InvalidRequest, match=r"output_config\.format"):
        convert([user(text("Hi"))], output_config={"format": {"type": "json_object"}})


def test_adaptive_thinking_asks_for_the_default_reasoning_effort() -> None:
    assert convert([user(text("Hi"))], thinking={"type": "adaptive"})["reasoning_effort"] == "medium"


@pytest.mark.parametrize("effort", ["low", "medium", "high", "xhigh", "max"])
def test_an_explicit_effort_becomes_the_reasoning_effort(effort: str) -> None:
    out = convert([user(text("Hi"))], thinking={"type": "adaptive"}, output_config={"effort": effort})
    assert out["reasoning_effort"] == effort


def test_an_explicit_effort_wins_over_a_thinking_budget() -> None:
    thinking = {"type": "enabled", "budget_tokens": 16384}
    assert convert([user(text("Hi"))], thinking=thinking, output_config={"effort": "low"})["reasoning_effort"] == "low"


def test_an_unknown_effort_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="extreme"):
        convert([user(text("Hi"))], output_config={"effort": "extreme"})


def test_an_unknown_thinking_type_is_refused_naming_it() -> None:
    with pytest.raises(InvalidRequest, match="between_tools"):
        convert([user(text("Hi"))], thinking={"type": "between_tools"})


def test_a_strict_tool_becomes_a_strict_function() -> None:
    out = convert([user(text("Hi"))], tools=[{**WEATHER_TOOL, "strict": True}])
    assert out["tools"][0]["function"]["strict"] is True


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("container", "container_1"),
        ("inference_geo", "eu"),
        ("mcp_servers", [{"type": "url", "url": "https://mcp.example", "name": "x"}]),
        ("diagnostics", {"previous_message_id": "msg_1"}),
        ("speed", "fast"),
        ("output_config", {"task_budget": 100}),
    ],
)
def test_a_field_chat_completions_cannot_honour_is_refused_naming_it(field: str, value: Any) -> None:
    with pytest.raises(InvalidRequest, match="cannot be sent to a chat-completions upstream"):
        convert([user(text("Hi"))], **{field: value})


def test_fields_that_change_nothing_in_the_answer_pass() -> None:
    out = convert(
        [user(text("Hi"))],
        cache_control={"type": "ephemeral"},
        context_management={"edits": []},
        speed="standard",
        service_tier="auto",
    )
    assert set(out) == {"model", "max_tokens", "messages"}


def test_standard_only_service_tier_asks_for_the_default_tier() -> None:
    assert convert([user(text("Hi"))], service_tier="standard_only")["service_tier"] == "default"
