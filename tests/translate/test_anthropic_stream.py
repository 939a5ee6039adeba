from __future__ import annotations

import json
from typing import Any

import pytest

from keyproxy.errors import (
    InvalidUpstreamResponse,
    UpstreamKeyRejected,
    UpstreamRateLimited,
    UpstreamServerError,
    UpstreamStatusError,
)
from keyproxy.providers.anthropic import AnthropicAdapter
from keyproxy.translate.anthropic_errors import TYPES, ErrorType
from keyproxy.translate.anthropic_stream import MessagesToChatStream
from keyproxy.translate.sse import SSEParser


def sse(kind: str, **fields: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **fields})}\n\n".encode()


def start(input_tokens: int = 25, **usage: int) -> bytes:
    message = {
        "id": "msg_01WBeG2NaYQ8w99747S3n8MZ",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-20250514",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1, **usage},
    }
    return sse("message_start", message=message)


def block(index: int, content_block: dict[str, Any], *deltas: dict[str, Any]) -> bytes:
    events = [sse("content_block_start", index=index, content_block=content_block)]
    events += [sse("content_block_delta", index=index, delta=delta) for delta in deltas]
    return b"".join([*events, sse("content_block_stop", index=index)])


def text_block(index: int, *pieces: str) -> bytes:
    return block(index, {"type": "text", "text": ""}, *({"type": "text_delta", "text": piece} for piece in pieces))


def tool_block(index: int, call_id: str, name: str, *pieces: str) -> bytes:
    deltas = ({"type": "input_json_delta", "partial_json": piece} for piece in pieces)
    return block(index, {"type": "tool_use", "id": call_id, "name": name, "input": {}}, *deltas)


def end(stop_reason: str = "end_turn", output_tokens: int = 15, **usage: int) -> bytes:
    delta = {"stop_reason": stop_reason, "stop_sequence": None}
    return sse("message_delta", delta=delta, usage={"output_tokens": output_tokens, **usage}) + sse("message_stop")


TEXT_STREAM = start() + sse("ping") + text_block(0, "Hello", "!") + end()


def translate(
    data: bytes, *, one_byte_at_a_time: bool = False, include_usage: bool = False
) -> tuple[list[Any], MessagesToChatStream]:
    stream = MessagesToChatStream("anthropic/claude-sonnet-4", 1700000000, include_usage=include_usage)
    pieces = [data[i : i + 1] for i in range(len(data))] if one_byte_at_a_time else [data]
    out = b"".join(stream.feed(piece) for piece in pieces)
    assert out.endswith(b"\n\n") or not out
    chunks = [event.data if event.data == "[DONE]" else json.loads(event.data) for event in SSEParser().feed(out)]
    return chunks, stream


def deltas(chunks: list[Any]) -> list[dict[str, Any]]:
    return [chunk["choices"][0]["delta"] for chunk in chunks if chunk != "[DONE]" and chunk["choices"]]


def test_a_text_stream_becomes_role_text_finish_and_done() -> None:
    chunks, _ = translate(TEXT_STREAM)
    assert deltas(chunks) == [{"role": "assistant", "content": ""}, {"content": "Hello"}, {"content": "!"}, {}]
    assert [chunk["choices"][0]["finish_reason"] for chunk in chunks[:4]] == [None, None, None, "stop"]
    assert chunks[4] == "[DONE]"


def test_without_include_usage_no_chunk_has_usage_and_every_chunk_has_a_choice() -> None:
    chunks, _ = translate(TEXT_STREAM)
    assert all("usage" not in chunk and chunk["choices"] for chunk in chunks[:-1])


def test_with_include_usage_a_usage_chunk_without_choices_comes_last_before_done() -> None:
    chunks, _ = translate(TEXT_STREAM, include_usage=True)
    assert chunks[-2]["choices"] == []
    assert chunks[-2]["usage"]["completion_tokens"] == 15
    assert chunks[-1] == "[DONE]"


def test_with_include_usage_every_other_chunk_carries_a_null_usage() -> None:
    chunks, _ = translate(TEXT_STREAM, include_usage=True)
    assert [chunk["usage"] for chunk in chunks[:-2]] == [None] * 4


@pytest.mark.parametrize("include_usage", [False, True])
def test_the_usage_is_reported_whether_or_not_the_client_sees_it(include_usage: bool) -> None:
    reported: list[Any] = []
    stream = MessagesToChatStream("m", 0, include_usage=include_usage, on_usage=reported.append)
    stream.feed(TEXT_STREAM)
    assert [usage["completion_tokens"] for usage in reported] == [15]


def test_bytes_fed_one_at_a_time_translate_the_same_as_whole() -> None:
    assert translate(TEXT_STREAM, one_byte_at_a_time=True)[0] == translate(TEXT_STREAM)[0]


def test_every_chunk_carries_the_message_id_model_and_created() -> None:
    chunks, _ = translate(TEXT_STREAM)
    assert {(c["id"], c["object"], c["model"], c["created"]) for c in chunks if c != "[DONE]"} == {
        ("msg_01WBeG2NaYQ8w99747S3n8MZ", "chat.completion.chunk", "anthropic/claude-sonnet-4", 1700000000)
    }


def test_thinking_deltas_become_reasoning_content_and_the_signed_block_reasoning_details() -> None:
    thinking = block(
        0,
        {"type": "thinking", "thinking": "", "signature": ""},
        {"type": "thinking_delta", "thinking": "The user "},
        {"type": "thinking_delta", "thinking": "asks"},
        {"type": "signature_delta", "signature": "ErUBCkYIARgCIkA"},
    )
    chunks, _ = translate(start() + thinking + text_block(1, "Hi") + end())
    assert deltas(chunks)[1:5] == [
        {"reasoning_content": "The user "},
        {"reasoning_content": "asks"},
        {"reasoning_details": [{"type": "reasoning.text", "text": "The user asks", "signature": "ErUBCkYIARgCIkA"}]},
        {"content": "Hi"},
    ]


def test_a_redacted_thinking_block_becomes_encrypted_reasoning_details() -> None:
    redacted = block(0, {"type": "redacted_thinking", "data": "EmwKAhgB"})
    chunks, _ = translate(start() + redacted + text_block(1, "Hi") + end())
    assert deltas(chunks)[1] == {"reasoning_details": [{"type": "reasoning.encrypted", "data": "EmwKAhgB"}]}


def test_a_tool_use_block_starts_a_tool_call_numbered_from_zero() -> None:
    chunks, _ = translate(
        start() + text_block(0, "Checking.") + tool_block(1, "toolu_01", "get_weather") + end("tool_use")
    )
    assert deltas(chunks)[2] == {
        "tool_calls": [
            {"index": 0, "id": "toolu_01", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
        ]
    }


def test_input_json_deltas_become_argument_pieces_of_their_call() -> None:
    tool = tool_block(0, "toolu_01", "get_weather", "", '{"city"', ': "Paris"}')
    chunks, _ = translate(start() + tool + end("tool_use"))
    assert deltas(chunks)[2:4] == [
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city"'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": ': "Paris"}'}}]},
    ]


def test_parallel_tool_uses_become_separate_tool_calls() -> None:
    tools = tool_block(1, "toolu_01", "get_weather", '{"city": "Paris"}') + tool_block(2, "toolu_02", "get_time", "{}")
    chunks, _ = translate(start() + text_block(0, "Both.") + tools + end("tool_use"))
    calls = [call for delta in deltas(chunks) for call in delta.get("tool_calls", [])]
    assert [(call["index"], call.get("id"), call["function"]["arguments"]) for call in calls] == [
        (0, "toolu_01", ""),
        (0, None, '{"city": "Paris"}'),
        (1, "toolu_02", ""),
        (1, None, "{}"),
    ]


def test_tool_use_stop_becomes_finish_reason_tool_calls() -> None:
    chunks, _ = translate(start() + tool_block(0, "toolu_01", "now", "{}") + end("tool_use"))
    assert [c["choices"][0]["finish_reason"] for c in chunks if c != "[DONE]" and c["choices"]][-1] == "tool_calls"


def test_max_tokens_stop_becomes_finish_reason_length() -> None:
    chunks, _ = translate(start() + text_block(0, "Hel") + end("max_tokens"))
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"


def test_the_usage_chunk_takes_input_from_message_start_and_output_from_message_delta() -> None:
    raw = start(4, cache_read_input_tokens=100, cache_creation_input_tokens=20) + end(output_tokens=58)
    chunks, _ = translate(raw, include_usage=True)
    assert chunks[-2]["usage"] == {
        "prompt_tokens": 124,
        "completion_tokens": 58,
        "total_tokens": 182,
        "prompt_tokens_details": {"cached_tokens": 100},
    }


def test_a_zero_input_count_in_message_delta_does_not_erase_the_one_from_message_start() -> None:
    chunks, _ = translate(start(471) + end(output_tokens=80, input_tokens=0), include_usage=True)
    assert chunks[-2]["usage"]["prompt_tokens"] == 471


def test_ping_and_block_stops_produce_nothing() -> None:
    stream = MessagesToChatStream("m", 0)
    stream.feed(start())
    assert stream.feed(sse("ping") + sse("content_block_stop", index=0)) == b""


def test_message_stop_ends_with_done() -> None:
    stream = MessagesToChatStream("m", 0)
    out = stream.feed(TEXT_STREAM)
    assert out.endswith(b"data: [DONE]\n\n")


def test_a_stream_cut_before_message_stop_is_incomplete_and_close_adds_nothing() -> None:
    stream = MessagesToChatStream("m", 0)
    out = stream.feed(start() + text_block(0, "Hel"))
    assert b"[DONE]" not in out
    assert stream.close() == b""


@pytest.mark.parametrize(
    ("error_type", "cls", "status"),
    [
        ("overloaded_error", UpstreamServerError, 529),
        ("api_error", UpstreamServerError, 500),
        ("rate_limit_error", UpstreamRateLimited, 429),
    ],
)
def test_an_error_event_raises_by_its_type(error_type: str, cls: type[UpstreamStatusError], status: int) -> None:
    stream = MessagesToChatStream("m", 0)
    stream.feed(start())
    with pytest.raises(cls) as caught:
        stream.feed(sse("error", error={"type": error_type, "message": "Overloaded"}))
    assert (caught.value.message, caught.value.upstream_status) == ("Overloaded", status)


def test_an_event_that_is_not_json_is_an_invalid_upstream_response() -> None:
    with pytest.raises(InvalidUpstreamResponse):
        MessagesToChatStream("m", 0).feed(b"event: message_start\ndata: {not json\n\n")


@pytest.mark.parametrize("kind", TYPES, ids=lambda kind: kind.name)
def test_an_error_event_means_what_the_same_type_means_in_a_whole_answer(kind: ErrorType) -> None:
    stream = MessagesToChatStream("m", 0)
    stream.feed(start())
    body = json.dumps({"type": "error", "error": {"type": kind.name, "message": "no"}}).encode()
    whole = AnthropicAdapter("https://api.anthropic.test/v1").classify(kind.status, {}, body, 0.0)
    with pytest.raises(UpstreamStatusError) as caught:
        stream.feed(sse("error", error={"type": kind.name, "message": "no"}))
    assert (type(caught.value), caught.value.error_class) == (type(whole), whole.error_class)


def test_a_billing_error_mid_stream_is_a_rejected_key_not_a_transient_failure() -> None:
    stream = MessagesToChatStream("m", 0)
    stream.feed(start())
    with pytest.raises(UpstreamKeyRejected):
        stream.feed(sse("error", error={"type": "billing_error", "message": "Your credit balance is too low"}))


def test_an_unknown_error_type_mid_stream_is_the_upstreams_fault() -> None:
    stream = MessagesToChatStream("m", 0)
    stream.feed(start())
    with pytest.raises(UpstreamServerError) as caught:
        stream.feed(sse("error", error={"type": "brand_new_error", "message": "?"}))
    assert caught.value.upstream_status == 500
