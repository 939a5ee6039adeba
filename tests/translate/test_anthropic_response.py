from __future__ import annotations

from typing import Any

import pytest

from keyproxy.errors import InvalidUpstreamResponse
from keyproxy.translate.anthropic_response import messages_response_to_chat


def message(*content: dict[str, Any], stop_reason: str = "end_turn", **usage: int) -> dict[str, Any]:
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": list(content),
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 6, **usage},
    }


def convert(resp: dict[str, Any]) -> dict[str, Any]:
    return messages_response_to_chat(resp, model="anthropic/claude-sonnet-4-5", created=1700000000)


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(call_id: str, name: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": name, "input": tool_input}


def test_the_envelope_is_a_chat_completion_with_the_given_model_and_time() -> None:
    out = convert(message(text("Hi")))
    assert (out["id"], out["object"], out["created"], out["model"]) == (
        "msg_01XFDUDYJgAACzvnptvVoYEL",
        "chat.completion",
        1700000000,
        "anthropic/claude-sonnet-4-5",
    )


def test_created_defaults_to_zero() -> None:
    assert messages_response_to_chat(message(text("Hi")), model="m")["created"] == 0


def test_text_blocks_are_joined_into_the_content() -> None:
    choice = convert(message(text("Hello, "), text("world")))["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "Hello, world"}
    assert choice["index"] == 0


def test_tool_use_becomes_tool_calls_with_compact_json_arguments_and_null_content() -> None:
    out = convert(message(tool_use("toolu_1", "get_weather", {"city": "Paris"}), stop_reason="tool_use"))
    assert out["choices"][0]["message"] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
        ],
    }


def test_text_beside_tool_use_is_kept_as_content() -> None:
    out = convert(message(text("Checking."), tool_use("toolu_1", "get_weather", {}), stop_reason="tool_use"))
    assert out["choices"][0]["message"]["content"] == "Checking."


def test_an_empty_answer_has_empty_string_content() -> None:
    assert convert(message(stop_reason="max_tokens"))["choices"][0]["message"]["content"] == ""


def test_thinking_becomes_reasoning_content_and_signed_blocks_reasoning_details() -> None:
    thinking = {"type": "thinking", "thinking": "Let me think.", "signature": "EqQBCgIYAh"}
    redacted = {"type": "redacted_thinking", "data": "EmwKAhgBEgy3"}
    out = convert(message(thinking, redacted, text("42")))
    assert out["choices"][0]["message"] == {
        "role": "assistant",
        "content": "42",
        "reasoning_content": "Let me think.",
        "reasoning_details": [
            {"type": "reasoning.text", "text": "Let me think.", "signature": "EqQBCgIYAh"},
            {"type": "reasoning.encrypted", "data": "EmwKAhgBEgy3"},
        ],
    }


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
    ],
)
def test_stop_reason_maps_to_finish_reason(stop_reason: str, finish_reason: str) -> None:
    assert convert(message(text("x"), stop_reason=stop_reason))["choices"][0]["finish_reason"] == finish_reason


def test_an_unknown_stop_reason_reads_as_stop() -> None:
    assert convert(message(text("x"), stop_reason="something_new"))["choices"][0]["finish_reason"] == "stop"


def test_usage_counts_cached_and_cache_writing_input_in_the_prompt() -> None:
    out = convert(message(text("x"), cache_read_input_tokens=100, cache_creation_input_tokens=30))
    assert out["usage"] == {
        "prompt_tokens": 142,
        "completion_tokens": 6,
        "total_tokens": 148,
        "prompt_tokens_details": {"cached_tokens": 100},
    }


def test_null_cache_counts_read_as_zero() -> None:
    resp = message(text("x"))
    resp["usage"] |= {"cache_read_input_tokens": None, "cache_creation_input_tokens": None}
    assert convert(resp)["usage"]["prompt_tokens"] == 12


def test_a_body_without_content_is_an_invalid_upstream_response() -> None:
    with pytest.raises(InvalidUpstreamResponse):
        convert({"type": "message", "id": "msg_1"})
