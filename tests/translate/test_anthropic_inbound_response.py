from __future__ import annotations

from typing import Any

import pytest

from keyproxy.errors import InvalidUpstreamResponse
from keyproxy.translate.anthropic_inbound_response import chat_response_to_messages


def completion(message: dict[str, Any], finish_reason: str = "stop", **usage: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {"index": 0, "message": {"role": "assistant", **message}, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29, **usage},
    }


def convert(resp: dict[str, Any]) -> dict[str, Any]:
    return chat_response_to_messages(resp, model="openai/gpt-4o")


def call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def test_the_envelope_is_an_anthropic_message_with_a_prefixed_id() -> None:
    out = convert(completion({"content": "Hi"}))
    assert {key: out[key] for key in ("id", "type", "role", "model", "stop_sequence")} == {
        "id": "msg_chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "type": "message",
        "role": "assistant",
        "model": "openai/gpt-4o",
        "stop_sequence": None,
    }


def test_content_becomes_a_text_block() -> None:
    assert convert(completion({"content": "Hello"}))["content"] == [{"type": "text", "text": "Hello"}]


def test_null_content_adds_no_block() -> None:
    assert convert(completion({"content": None}))["content"] == []


def test_a_refusal_becomes_the_text() -> None:
    out = convert(completion({"content": None, "refusal": "I can't help with that."}))
    assert out["content"] == [{"type": "text", "text": "I can't help with that."}]


def test_reasoning_content_becomes_a_leading_thinking_block_with_an_empty_signature() -> None:
    out = convert(completion({"content": "42", "reasoning_content": "Six times seven."}))
    assert out["content"] == [
        {"type": "thinking", "thinking": "Six times seven.", "signature": ""},
        {"type": "text", "text": "42"},
    ]


def test_a_reasoning_field_is_read_like_reasoning_content() -> None:
    out = convert(completion({"content": "42", "reasoning": "Six times seven."}))
    assert out["content"][0] == {"type": "thinking", "thinking": "Six times seven.", "signature": ""}


def test_tool_calls_become_tool_use_blocks_with_parsed_input() -> None:
    calls = [call("call_1", "get_weather", '{"city":"Paris"}'), call("call_2", "get_weather", '{"city":"Rome"}')]
    out = convert(completion({"content": None, "tool_calls": calls}, "tool_calls"))
    assert out["content"] == [
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"city": "Rome"}},
    ]
    assert out["stop_reason"] == "tool_use"


def test_empty_arguments_become_an_empty_input() -> None:
    out = convert(completion({"content": None, "tool_calls": [call("call_1", "now", "")]}, "tool_calls"))
    assert out["content"][0]["input"] == {}


def test_invalid_json_arguments_are_kept_raw() -> None:
    out = convert(completion({"content": None, "tool_calls": [call("call_1", "f", '{"a": ')]}, "tool_calls"))
    assert out["content"][0]["input"] == {"_raw": '{"a": '}


def test_arguments_that_are_not_an_object_are_kept_raw() -> None:
    out = convert(completion({"content": None, "tool_calls": [call("call_1", "f", "[1]")]}, "tool_calls"))
    assert out["content"][0]["input"] == {"_raw": "[1]"}


@pytest.mark.parametrize(
    ("finish_reason", "stop_reason"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("function_call", "tool_use"),
        ("content_filter", "refusal"),
    ],
)
def test_finish_reason_maps_to_stop_reason(finish_reason: str, stop_reason: str) -> None:
    assert convert(completion({"content": "x"}, finish_reason))["stop_reason"] == stop_reason


def test_tool_calls_with_a_stop_finish_reason_still_read_as_tool_use() -> None:
    out = convert(completion({"content": None, "tool_calls": [call("call_1", "f", "{}")]}, "stop"))
    assert out["stop_reason"] == "tool_use"


def test_usage_moves_cached_tokens_out_of_the_input() -> None:
    out = convert(completion({"content": "x"}, prompt_tokens_details={"cached_tokens": 15}))
    assert out["usage"] == {"input_tokens": 4, "output_tokens": 10, "cache_read_input_tokens": 15}


def test_missing_usage_reads_as_zero() -> None:
    resp = completion({"content": "x"})
    del resp["usage"]
    assert convert(resp)["usage"] == {"input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 0}


def test_a_completion_without_choices_is_an_invalid_upstream_response() -> None:
    with pytest.raises(InvalidUpstreamResponse):
        convert({"id": "chatcmpl-1", "object": "chat.completion", "choices": []})
