from __future__ import annotations

from typing import Any

import pytest

from keyproxy.errors import InvalidRequest
from keyproxy.translate.gemini_content import SKIP_SIGNATURE
from keyproxy.translate.gemini_request import chat_to_gemini

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}
CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}


def chat(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": "gemini-2.5-flash", "messages": list(messages), **fields}


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def test_system_and_developer_messages_become_the_system_instruction() -> None:
    body = chat_to_gemini(
        chat({"role": "system", "content": "Be brief."}, {"role": "developer", "content": "No emoji."}, user("Hi"))
    )
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}, {"text": "No emoji."}]}
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Hi"}]}]


def test_assistant_messages_take_the_model_role() -> None:
    body = chat_to_gemini(chat(user("Hi"), {"role": "assistant", "content": "Hello!"}, user("Bye")))
    assert [content["role"] for content in body["contents"]] == ["user", "model", "user"]
    assert body["contents"][1]["parts"] == [{"text": "Hello!"}]


def test_consecutive_messages_of_one_role_merge_into_one_content() -> None:
    body = chat_to_gemini(chat(user("one"), user([{"type": "text", "text": "two"}])))
    assert body["contents"] == [{"role": "user", "parts": [{"text": "one"}, {"text": "two"}]}]


def test_empty_text_is_left_out_because_gemini_rejects_it() -> None:
    body = chat_to_gemini(chat(user("Hi"), {"role": "assistant", "content": ""}, user("again")))
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Hi"}, {"text": "again"}]}]


def test_a_data_url_image_becomes_inline_data() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high"}}
    parts = chat_to_gemini(chat(user([image])))["contents"][0]["parts"]
    assert parts == [{"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]


def test_an_http_image_becomes_file_data_typed_by_its_extension() -> None:
    image = {"type": "image_url", "image_url": {"url": "https://example.com/cat.JPG?size=2"}}
    parts = chat_to_gemini(chat(user([image])))["contents"][0]["parts"]
    assert parts == [{"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.JPG?size=2"}}]


def test_an_http_image_without_a_known_extension_leaves_the_type_to_gemini() -> None:
    image = {"type": "image_url", "image_url": {"url": "https://example.com/render?id=7"}}
    parts = chat_to_gemini(chat(user([image])))["contents"][0]["parts"]
    assert parts == [{"fileData": {"fileUri": "https://example.com/render?id=7"}}]


def test_input_audio_becomes_inline_audio() -> None:
    audio = {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
    parts = chat_to_gemini(chat(user([audio])))["contents"][0]["parts"]
    assert parts == [{"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}}]


def test_an_inline_file_becomes_inline_data() -> None:
    file = {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0="}}
    parts = chat_to_gemini(chat(user([file])))["contents"][0]["parts"]
    assert parts == [{"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}}]


@pytest.mark.parametrize(
    "part",
    [
        {"type": "image_url", "image_url": {"url": "data:image/png,rawbytes"}},
        {"type": "image_url", "image_url": {"url": "ftp://example.com/a.png"}},
        {"type": "file", "file": {"file_id": "file-abc"}},
        {"type": "video_url", "video_url": {"url": "https://example.com/v.mp4"}},
    ],
)
def test_parts_gemini_cannot_take_are_refused(part: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest):
        chat_to_gemini(chat(user([part])))


def test_assistant_tool_calls_become_function_calls_with_parsed_args() -> None:
    body = chat_to_gemini(chat(user("Weather?"), {"role": "assistant", "content": None, "tool_calls": [CALL]}))
    call = body["contents"][1]["parts"][0]
    assert call["functionCall"] == {"name": "get_weather", "args": {"city": "Paris"}}


def test_a_replayed_thought_signature_goes_back_on_its_function_call() -> None:
    signed = {**CALL, "extra_content": {"google": {"thought_signature": "c2lnbmF0dXJl"}}}
    body = chat_to_gemini(chat(user("Weather?"), {"role": "assistant", "tool_calls": [signed]}))
    assert body["contents"][1]["parts"][0]["thoughtSignature"] == "c2lnbmF0dXJl"


def test_only_the_first_unsigned_call_of_a_turn_gets_the_stand_in_signature() -> None:
    second = {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}
    body = chat_to_gemini(chat(user("Weather?"), {"role": "assistant", "tool_calls": [CALL, second]}))
    first_part, second_part = body["contents"][1]["parts"]
    assert first_part["thoughtSignature"] == SKIP_SIGNATURE
    assert "thoughtSignature" not in second_part


def test_empty_arguments_mean_no_arguments() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "now", "arguments": ""}}
    body = chat_to_gemini(chat(user("Time?"), {"role": "assistant", "tool_calls": [call]}))
    assert body["contents"][1]["parts"][0]["functionCall"] == {"name": "now", "args": {}}


@pytest.mark.parametrize("arguments", ['{"city": ', "[1, 2]"])
def test_arguments_that_are_not_a_json_object_are_refused(arguments: str) -> None:
    call = {"id": "c", "type": "function", "function": {"name": "get_weather", "arguments": arguments}}
    with pytest.raises(InvalidRequest, match="arguments"):
        chat_to_gemini(chat(user("Weather?"), {"role": "assistant", "tool_calls": [call]}))


def test_a_tool_result_becomes_a_user_function_response_named_after_its_call() -> None:
    body = chat_to_gemini(
        chat(
            user("Weather?"),
            {"role": "assistant", "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "call_1", "content": "Sunny"},
        )
    )
    assert body["contents"][2] == {
        "role": "user",
        "parts": [{"functionResponse": {"name": "get_weather", "response": {"content": "Sunny"}}}],
    }


def test_a_json_object_tool_result_is_sent_as_the_response_itself() -> None:
    result = {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 21}'}
    body = chat_to_gemini(chat(user("Weather?"), {"role": "assistant", "tool_calls": [CALL]}, result))
    assert body["contents"][2]["parts"][0]["functionResponse"]["response"] == {"temp_c": 21}


def test_a_json_array_tool_result_is_wrapped_as_text() -> None:
    result = {"role": "tool", "tool_call_id": "call_1", "content": "[1, 2]"}
    body = chat_to_gemini(chat(user("Weather?"), {"role": "assistant", "tool_calls": [CALL]}, result))
    assert body["contents"][2]["parts"][0]["functionResponse"]["response"] == {"content": "[1, 2]"}


def test_parallel_tool_results_merge_into_one_user_content() -> None:
    second = {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
    body = chat_to_gemini(
        chat(
            user("Weather and time?"),
            {"role": "assistant", "tool_calls": [CALL, second]},
            {"role": "tool", "tool_call_id": "call_1", "content": "Sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "noon"}]},
        )
    )
    names = [part["functionResponse"]["name"] for part in body["contents"][2]["parts"]]
    assert len(body["contents"]) == 3
    assert names == ["get_weather", "get_time"]


def test_a_tool_result_for_an_unknown_call_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="tool_call_id"):
        chat_to_gemini(chat(user("Hi"), {"role": "tool", "tool_call_id": "nope", "content": "x"}))


def test_an_unknown_role_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="role"):
        chat_to_gemini(chat({"role": "function", "name": "f", "content": "x"}))


def test_tools_become_function_declarations_with_clean_parameters() -> None:
    body = chat_to_gemini(chat(user("Hi"), tools=[WEATHER_TOOL]))
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Current weather for a city.",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
                }
            ]
        }
    ]


def test_a_tool_without_parameters_is_declared_without_them() -> None:
    tool = {"type": "function", "function": {"name": "now", "parameters": {"type": "object", "properties": {}}}}
    assert chat_to_gemini(chat(user("Hi"), tools=[tool]))["tools"][0]["functionDeclarations"] == [{"name": "now"}]


def test_a_non_function_tool_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="function tools"):
        chat_to_gemini(chat(user("Hi"), tools=[{"type": "custom", "custom": {"name": "x"}}]))


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("required", {"mode": "ANY"}),
        ("none", {"mode": "NONE"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"mode": "ANY", "allowedFunctionNames": ["get_weather"]},
        ),
    ],
)
def test_tool_choice_becomes_a_function_calling_mode(choice: Any, config: dict[str, Any]) -> None:
    body = chat_to_gemini(chat(user("Hi"), tools=[WEATHER_TOOL], tool_choice=choice))
    assert body["toolConfig"] == {"functionCallingConfig": config}


def test_tool_choice_without_tools_sends_no_tool_config() -> None:
    assert "toolConfig" not in chat_to_gemini(chat(user("Hi"), tool_choice="required"))


def test_an_unknown_tool_choice_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="tool_choice"):
        chat_to_gemini(chat(user("Hi"), tools=[WEATHER_TOOL], tool_choice="sometimes"))


def test_sampling_fields_map_to_generation_config() -> None:
    body = chat_to_gemini(
        chat(user("Hi"), temperature=0.2, top_p=0.9, top_k=40, max_tokens=100, stop=["END", "STOP"], n=2, seed=7)
    )
    assert body["generationConfig"] == {
        "temperature": 0.2,
        "topP": 0.9,
        "topK": 40,
        "candidateCount": 2,
        "seed": 7,
        "maxOutputTokens": 100,
        "stopSequences": ["END", "STOP"],
    }


def test_max_completion_tokens_wins_over_max_tokens() -> None:
    body = chat_to_gemini(chat(user("Hi"), max_tokens=10, max_completion_tokens=20))
    assert body["generationConfig"]["maxOutputTokens"] == 20


def test_a_single_stop_string_becomes_a_list() -> None:
    assert chat_to_gemini(chat(user("Hi"), stop="END"))["generationConfig"]["stopSequences"] == ["END"]


def test_json_object_format_asks_for_json() -> None:
    body = chat_to_gemini(chat(user("Hi"), response_format={"type": "json_object"}))
    assert body["generationConfig"] == {"responseMimeType": "application/json"}


def test_json_schema_format_sends_a_cleaned_response_schema() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "additionalProperties": False}
    response_format = {"type": "json_schema", "json_schema": {"name": "out", "strict": True, "schema": schema}}
    body = chat_to_gemini(chat(user("Hi"), response_format=response_format))
    assert body["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseSchema": {"type": "object", "properties": {"n": {"type": "integer"}}},
    }


@pytest.mark.parametrize(("effort", "budget"), [("low", 1024), ("medium", 8192), ("high", 24576)])
def test_reasoning_effort_becomes_a_thinking_budget_with_thoughts(effort: str, budget: int) -> None:
    body = chat_to_gemini(chat(user("Hi"), reasoning_effort=effort))
    assert body["generationConfig"]["thinkingConfig"] == {"thinkingBudget": budget, "includeThoughts": True}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("logit_bias", {"1": 2}),
        ("audio", {"voice": "alloy", "format": "wav"}),
        ("modalities", ["text", "audio"]),
        ("function_call", "auto"),
        ("web_search_options", {}),
        ("verbosity", "high"),
        ("store", True),
        ("service_tier", "priority"),
        ("repetition_penalty", 1.1),
    ],
)
def test_a_field_gemini_cannot_honour_is_refused_naming_it(field: str, value: Any) -> None:
    with pytest.raises(InvalidRequest, match=f"{field}.*Gemini"):
        chat_to_gemini(chat(user("Hi"), **{field: value}))


def test_fields_that_change_nothing_in_the_answer_are_not_sent() -> None:
    body = chat_to_gemini(
        chat(
            user("Hi"),
            stream=True,
            stream_options={"include_usage": True},
            user="u-1",
            safety_identifier="hash-1",
            metadata={"run": "7"},
            store=False,
            service_tier="auto",
            logit_bias={},
            modalities=["text"],
        )
    )
    assert body == {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}


def test_penalties_become_generation_config_penalties() -> None:
    body = chat_to_gemini(chat(user("Hi"), presence_penalty=0.5, frequency_penalty=-0.25))
    assert body["generationConfig"] == {"presencePenalty": 0.5, "frequencyPenalty": -0.25}


def test_logprobs_ask_gemini_for_logprobs_and_top_logprobs_for_that_many_alternatives() -> None:
    assert chat_to_gemini(chat(user("Hi"), logprobs=True))["generationConfig"] == {"responseLogprobs": True}
    body = chat_to_gemini(chat(user("Hi"), logprobs=True, top_logprobs=3))
    assert body["generationConfig"] == {"responseLogprobs": True, "logprobs": 3}


def test_parallel_tool_calls_false_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="parallel_tool_calls"):
        chat_to_gemini(chat(user("Hi"), tools=[WEATHER_TOOL], parallel_tool_calls=False))


def test_reasoning_effort_none_turns_thinking_off() -> None:
    body = chat_to_gemini(chat(user("Hi"), reasoning_effort="none"))
    assert body["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 0}


@pytest.mark.parametrize("effort", ["xhigh", "max"])
def test_a_reasoning_effort_without_a_budget_is_refused(effort: str) -> None:
    with pytest.raises(InvalidRequest, match=effort):
        chat_to_gemini(chat(user("Hi"), reasoning_effort=effort))


def test_an_unknown_response_format_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="response_format"):
        chat_to_gemini(chat(user("Hi"), response_format={"type": "grammar"}))
