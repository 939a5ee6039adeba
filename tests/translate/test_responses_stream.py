"""Chat-completion chunks as Responses API events, and a native Responses stream watched as it passes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from keyproxy.errors import InvalidUpstreamResponse, UpstreamServerError
from keyproxy.translate.responses_mapping import response_object
from keyproxy.translate.responses_stream import ChatToResponsesStream
from keyproxy.translate.responses_watch import ResponsesStreamWatch

DONE = b"data: [DONE]\n\n"


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, usage: dict[str, Any] | None = None) -> bytes:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    body: dict[str, Any] = {"id": "c", "object": "chat.completion.chunk", "choices": choices}
    if usage is not None:
        body["usage"] = usage
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def translator() -> ChatToResponsesStream:
    return ChatToResponsesStream(response_object({"model": "p/m"}, response_id="resp_r", model="p/m", created_at=1))


def run(*chunks: bytes, stream: ChatToResponsesStream | None = None) -> list[dict[str, Any]]:
    stream = stream or translator()
    out = b"".join(stream.feed(piece) for piece in chunks) + stream.close()
    frames = [frame for frame in out.split(b"\n\n") if frame]
    events = []
    for frame in frames:
        name, data = frame.split(b"\n")
        event = json.loads(data.removeprefix(b"data: "))
        assert name == b"event: " + event["type"].encode()
        events.append(event)
    return events


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def test_text_streams_as_a_message_from_created_to_completed() -> None:
    events = run(chunk({"role": "assistant", "content": ""}), chunk({"content": "Hel"}), chunk({"content": "lo"}),
                 chunk({}, "stop"), DONE)  # fmt: skip
    assert kinds(events) == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
        "response.content_part.done", "response.output_item.done", "response.completed",
    ]  # fmt: skip
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "Hello"
    assert events[6]["text"] == "Hello" and events[4]["item_id"] == events[2]["item"]["id"] == "msg_r_0"


def test_the_created_event_carries_the_response_in_progress() -> None:
    created = run(chunk({"content": "x"}))[0]
    assert created["response"]["status"] == "in_progress" and created["response"]["output"] == []


def test_nothing_final_is_sent_before_done_and_a_cut_stream_stays_cut() -> None:
    stream = translator()
    events = run(chunk({"content": "x"}, "stop"), stream=stream)
    assert "response.completed" not in kinds(events) and not stream.complete


def test_a_tool_call_streams_its_arguments_and_ends_whole() -> None:
    opening = {"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                               "function": {"name": "f", "arguments": ""}}]}  # fmt: skip
    pieces = [chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]}) for part in ('{"a"', ":1}")]
    events = run(chunk(opening), *pieces, chunk({}, "tool_calls"), DONE)
    assert kinds(events)[2:] == [
        "response.output_item.added", "response.function_call_arguments.delta",
        "response.function_call_arguments.delta", "response.function_call_arguments.done",
        "response.output_item.done", "response.completed",
    ]  # fmt: skip
    final = events[-1]["response"]["output"][0]
    assert (final["call_id"], final["name"], final["arguments"]) == ("call_1", "f", '{"a":1}')


def test_parallel_calls_numbered_zero_by_the_server_are_told_apart_by_id() -> None:
    calls = [chunk({"tool_calls": [{"index": 0, "id": f"call_{n}", "function": {"name": f"f{n}", "arguments": "{}"}}]})
             for n in (1, 2)]  # fmt: skip
    output = run(*calls, chunk({}, "tool_calls"), DONE)[-1]["response"]["output"]
    assert [item["call_id"] for item in output] == ["call_1", "call_2"]


def test_a_late_argument_piece_goes_to_its_own_call() -> None:
    first = chunk({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"x"'}}]})
    second = chunk({"tool_calls": [{"index": 1, "id": "b", "function": {"name": "g", "arguments": "{}"}}]})
    late = chunk({"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]})
    output = run(first, second, late, DONE)[-1]["response"]["output"]
    assert [item["arguments"] for item in output] == ['{"x":1}', "{}"]


def test_reasoning_streams_as_a_summary_before_the_message() -> None:
    events = run(chunk({"reasoning_content": "Hmm"}), chunk({"content": "42"}), DONE)
    assert kinds(events)[2:9] == [
        "response.output_item.added", "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta", "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done", "response.output_item.done", "response.output_item.added",
    ]  # fmt: skip
    output = events[-1]["response"]["output"]
    assert output[0] == {"id": "rs_r_0", "type": "reasoning", "summary": [{"type": "summary_text", "text": "Hmm"}]}
    assert output[1]["content"][0]["text"] == "42"


def test_a_refusal_streams_as_its_own_part() -> None:
    events = run(chunk({"refusal": "No"}), DONE)
    assert "response.refusal.delta" in kinds(events) and "response.refusal.done" in kinds(events)
    assert events[-1]["response"]["output"][0]["content"] == [{"type": "refusal", "refusal": "No"}]


def test_usage_from_the_usage_chunk_is_in_the_completed_response() -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    final = run(chunk({"content": "x"}, "stop"), chunk(usage=usage), DONE)[-1]["response"]
    assert (final["usage"]["input_tokens"], final["usage"]["output_tokens"]) == (3, 2)


def test_a_length_finish_ends_with_response_incomplete() -> None:
    events = run(chunk({"content": "x"}, "length"), DONE)
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


def test_an_empty_answer_is_still_a_message() -> None:
    output = run(chunk({"role": "assistant"}), DONE)[-1]["response"]["output"]
    assert output[0]["type"] == "message" and output[0]["content"][0]["text"] == ""


def test_events_split_anywhere_translate_the_same() -> None:
    whole = chunk({"content": "Hello"}) + chunk({}, "stop") + DONE
    one = run(whole)
    split = run(*(whole[n : n + 7] for n in range(0, len(whole), 7)))
    assert kinds(one) == kinds(split)


def test_the_final_response_is_kept_for_the_caller_once_complete() -> None:
    stream = translator()
    run(chunk({"content": "x"}), DONE, stream=stream)
    assert stream.complete and stream.response["status"] == "completed"


def test_an_error_chunk_raises_as_an_upstream_failure() -> None:
    with pytest.raises(UpstreamServerError, match="overloaded"):
        translator().feed(b'data: {"error": {"message": "overloaded"}}\n\n')


def test_the_error_event_is_numbered_after_what_went_out() -> None:
    stream = translator()
    sent = run(chunk({"content": "x"}), stream=stream)
    event = stream.error_event(InvalidUpstreamResponse("cut"))
    data = json.loads(event.split(b"\n")[1].removeprefix(b"data: "))
    assert data == {"type": "error", "sequence_number": len(sent), "code": "invalid_upstream_response",
                    "message": "cut", "param": None}  # fmt: skip


NATIVE = (
    b'event: response.created\ndata: {"type":"response.created","sequence_number":0,"response":{"id":"resp_up"}}\n\n'
    b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":1}\n\n'
    b'event: response.completed\ndata: {"type":"response.completed","sequence_number":2,"response":{"id":"resp_up"}}'
    b"\n\n"
)


def test_a_watched_native_stream_passes_through_byte_for_byte() -> None:
    watch = ResponsesStreamWatch()
    pieces = [NATIVE[n : n + 11] for n in range(0, len(NATIVE), 11)]
    assert b"".join(watch.feed(piece) for piece in pieces) == NATIVE


def test_a_watched_native_stream_knows_its_response_and_its_end() -> None:
    watch = ResponsesStreamWatch()
    watch.feed(NATIVE[: NATIVE.index(b"event: response.completed")])
    assert (watch.response_id, watch.complete) == ("resp_up", False)
    watch.feed(NATIVE[NATIVE.index(b"event: response.completed") :])
    assert watch.complete


def test_a_watched_stream_numbers_its_error_after_the_upstreams_last_event() -> None:
    watch = ResponsesStreamWatch()
    watch.feed(NATIVE[: NATIVE.index(b"event: response.completed")])
    data = json.loads(watch.error_event(InvalidUpstreamResponse("cut")).split(b"\n")[1].removeprefix(b"data: "))
    assert data["sequence_number"] == 2


def test_an_upstream_error_event_raises_as_an_upstream_failure() -> None:
    with pytest.raises(UpstreamServerError, match="boom"):
        ResponsesStreamWatch().feed(b'event: error\ndata: {"type":"error","code":"server_error","message":"boom"}\n\n')


def test_a_watched_stream_without_event_names_is_read_by_its_types() -> None:
    unnamed = b"".join(line + b"\n" for line in NATIVE.split(b"\n") if not line.startswith(b"event: "))
    watch = ResponsesStreamWatch()
    watch.feed(unnamed)
    assert (watch.response_id, watch.complete) == ("resp_up", True)
