from __future__ import annotations

import json
from typing import Any

import pytest

from keyproxy.errors import InvalidUpstreamResponse, UpstreamServerError
from keyproxy.translate.anthropic_inbound_stream import ChatToMessagesStream
from keyproxy.translate.sse import SSEParser

DONE = b"data: [DONE]\n\n"


def chunk(delta: dict[str, Any] | None = None, finish_reason: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish_reason}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


def usage(prompt: int, completion: int, cached: int = 0) -> bytes:
    counts = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
              "prompt_tokens_details": {"cached_tokens": cached}}  # fmt: skip
    body = {"id": "chatcmpl-123", "object": "chat.completion.chunk", "choices": [], "usage": counts}
    return f"data: {json.dumps(body)}\n\n".encode()


def call(index: int, call_id: str | None = None, name: str | None = None, arguments: str = "") -> dict[str, Any]:
    piece: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id is not None:
        piece |= {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
    return piece


TEXT_STREAM = (
    chunk({"role": "assistant", "content": ""})
    + chunk({"content": "Hello"})
    + chunk({"content": "!"})
    + chunk({}, "stop")
    + usage(9, 12)
    + DONE
)


def translate(data: bytes, *, one_byte_at_a_time: bool = False) -> tuple[list[dict[str, Any]], ChatToMessagesStream]:
    stream = ChatToMessagesStream("openai/gpt-4o-mini", "msg_0123")
    pieces = [data[i : i + 1] for i in range(len(data))] if one_byte_at_a_time else [data]
    out = b"".join(stream.feed(piece) for piece in pieces)
    events = SSEParser().feed(out)
    assert all(json.loads(event.data)["type"] == event.event for event in events)
    return [json.loads(event.data) for event in events], stream


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def test_a_text_stream_becomes_the_anthropic_event_sequence() -> None:
    events, _ = translate(TEXT_STREAM)
    assert kinds(events) == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[1] == {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    assert [event["delta"] for event in events[2:4]] == [
        {"type": "text_delta", "text": "Hello"},
        {"type": "text_delta", "text": "!"},
    ]


def test_bytes_fed_one_at_a_time_translate_the_same_as_whole() -> None:
    assert translate(TEXT_STREAM, one_byte_at_a_time=True)[0] == translate(TEXT_STREAM)[0]


def test_message_start_carries_the_id_and_model_with_zero_usage() -> None:
    events, _ = translate(TEXT_STREAM)
    assert events[0]["message"] == {
        "id": "msg_0123",
        "type": "message",
        "role": "assistant",
        "model": "openai/gpt-4o-mini",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 0, "output_tokens": 0},
    }


def test_message_delta_carries_the_stop_reason_and_the_usage_chunk_counts() -> None:
    events, _ = translate(chunk({"content": "x"}, "stop") + usage(120, 12, cached=100) + DONE)
    assert events[-2] == {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"input_tokens": 20, "output_tokens": 12, "cache_read_input_tokens": 100},
    }


def test_without_a_usage_chunk_message_delta_reports_zero_output() -> None:
    events, _ = translate(chunk({"content": "x"}, "stop") + DONE)
    assert events[-2]["usage"] == {"output_tokens": 0}


def test_usage_on_the_last_choice_chunk_is_read_too() -> None:
    body = json.loads(chunk({}, "stop")[6:])
    body["usage"] = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    events, _ = translate(chunk({"content": "x"}) + f"data: {json.dumps(body)}\n\n".encode() + DONE)
    assert events[-2]["usage"]["output_tokens"] == 2


@pytest.mark.parametrize(("finish_reason", "stop_reason"), [("length", "max_tokens"), ("content_filter", "refusal")])
def test_finish_reason_maps_to_the_stop_reason(finish_reason: str, stop_reason: str) -> None:
    events, _ = translate(chunk({"content": "x"}, finish_reason) + DONE)
    assert events[-2]["delta"]["stop_reason"] == stop_reason


def test_reasoning_content_streams_as_a_thinking_block_before_the_text_block() -> None:
    events, _ = translate(chunk({"reasoning_content": "Let me"}) + chunk({"reasoning_content": " see."})
                          + chunk({"content": "42"}) + chunk({}, "stop") + DONE)  # fmt: skip
    assert events[1] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
    }
    assert [event["delta"] for event in events[2:4]] == [
        {"type": "thinking_delta", "thinking": "Let me"},
        {"type": "thinking_delta", "thinking": " see."},
    ]
    assert events[4] == {"type": "content_block_stop", "index": 0}
    assert (events[5]["index"], events[5]["content_block"]["type"]) == (1, "text")


def test_a_reasoning_field_streams_like_reasoning_content() -> None:
    events, _ = translate(chunk({"reasoning": "Hmm."}) + DONE)
    assert events[2]["delta"] == {"type": "thinking_delta", "thinking": "Hmm."}


def test_a_refusal_delta_streams_as_text() -> None:
    events, _ = translate(chunk({"refusal": "I can't help with that."}) + chunk({}, "stop") + DONE)
    assert events[2]["delta"] == {"type": "text_delta", "text": "I can't help with that."}


def test_no_signature_delta_is_invented_for_thinking() -> None:
    events, _ = translate(chunk({"reasoning_content": "Hmm."}) + chunk({"content": "Hi"}) + DONE)
    assert all(event.get("delta", {}).get("type") != "signature_delta" for event in events)


def test_a_tool_call_becomes_a_tool_use_block_with_input_json_deltas() -> None:
    events, _ = translate(
        chunk({"tool_calls": [call(0, "call_abc", "get_weather")]})
        + chunk({"tool_calls": [call(0, arguments='{"city"')]})
        + chunk({"tool_calls": [call(0, arguments=': "Paris"}')]})
        + chunk({}, "tool_calls")
        + DONE
    )
    assert events[1] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "tool_use", "id": "call_abc", "name": "get_weather", "input": {}},
    }
    assert [event["delta"]["partial_json"] for event in events[2:4]] == ['{"city"', ': "Paris"}']
    assert events[-2]["delta"]["stop_reason"] == "tool_use"


def test_text_then_parallel_tool_calls_get_strictly_increasing_block_indexes() -> None:
    events, _ = translate(
        chunk({"content": "Both."})
        + chunk({"tool_calls": [call(0, "call_1", "get_weather", '{"city": "Paris"}')]})
        + chunk({"tool_calls": [call(1, "call_2", "get_time", "{}")]})
        + chunk({}, "tool_calls")
        + DONE
    )
    starts = [(e["index"], e["content_block"].get("id")) for e in events if e["type"] == "content_block_start"]
    stops = [e["index"] for e in events if e["type"] == "content_block_stop"]
    assert starts == [(0, None), (1, "call_1"), (2, "call_2")]
    assert stops == [0, 1, 2]


def test_parallel_calls_that_all_claim_index_zero_are_told_apart_by_id() -> None:
    events, _ = translate(
        chunk({"tool_calls": [call(0, "call_1", "get_weather", '{"city": "Paris"}')]})
        + chunk({"tool_calls": [call(0, "call_2", "get_weather", '{"city": "Rome"}')]})
        + DONE
    )
    inputs = [(e["index"], e["delta"]["partial_json"]) for e in events if e["type"] == "content_block_delta"]
    assert inputs == [(0, '{"city": "Paris"}'), (1, '{"city": "Rome"}')]


def test_a_tool_call_with_a_stop_finish_reason_still_stops_for_tool_use() -> None:
    events, _ = translate(chunk({"tool_calls": [call(0, "call_1", "now", "{}")]}) + chunk({}, "stop") + DONE)
    assert events[-2]["delta"]["stop_reason"] == "tool_use"


def test_nothing_final_is_emitted_before_done() -> None:
    events, _ = translate(chunk({"content": "x"}) + chunk({}, "stop") + usage(1, 1))
    assert "message_delta" not in kinds(events)
    assert "content_block_stop" not in kinds(events)
    assert "message_stop" not in kinds(events)


def test_done_ends_the_message() -> None:
    events, _ = translate(TEXT_STREAM)
    assert kinds(events)[-1] == "message_stop"


def test_done_alone_still_makes_a_whole_empty_message() -> None:
    events, _ = translate(DONE)
    assert kinds(events) == ["message_start", "message_delta", "message_stop"]


def test_close_adds_nothing_to_a_cut_stream() -> None:
    stream = ChatToMessagesStream("m", "msg_1")
    out = stream.feed(chunk({"content": "Hel"}))
    assert stream.close() == b""
    assert b"message_stop" not in out


def test_an_error_payload_raises_an_upstream_server_error_with_its_message() -> None:
    stream = ChatToMessagesStream("m", "msg_1")
    stream.feed(chunk({"content": "Hel"}))
    with pytest.raises(UpstreamServerError, match="The server had an error"):
        stream.feed(b'data: {"error": {"message": "The server had an error", "type": "server_error"}}\n\n')


def test_an_event_that_is_not_json_is_an_invalid_upstream_response() -> None:
    with pytest.raises(InvalidUpstreamResponse):
        ChatToMessagesStream("m", "msg_1").feed(b"data: {oops\n\n")
