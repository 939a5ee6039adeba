from __future__ import annotations

from typing import Any

import msgspec
import pytest

from keyproxy.errors import InvalidUpstreamResponse, UpstreamClientError, UpstreamRateLimited
from keyproxy.translate.gemini_response import gemini_to_chat
from keyproxy.translate.gemini_stream import GeminiToChatStream
from keyproxy.translate.sse import SSEParser

RESPONSE_ID = "Xo3CaP2bFpGtz7IPvaLa0Qo"
USAGE = {"promptTokenCount": 9, "candidatesTokenCount": 7, "totalTokenCount": 36, "thoughtsTokenCount": 20}


def event(candidates: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"modelVersion": "gemini-2.5-flash", "responseId": RESPONSE_ID, **fields}
    if candidates is not None:
        body["candidates"] = candidates
    return body


def says(*parts: dict[str, Any], finish: str | None = None, **fields: Any) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": list(parts), "role": "model"}, "index": 0}
    if finish is not None:
        candidate["finishReason"] = finish
    return event([candidate], **fields)


def wire(*events: dict[str, Any], newline: bytes = b"\r\n") -> bytes:
    """Events framed as streamGenerateContent?alt=sse frames them."""
    return b"".join(b"data: " + msgspec.json.encode(e) + newline + newline for e in events)


# The shape of a recorded answer with thought summaries on.
THINKING_STREAM = wire(
    says({"text": "**Recalling geography**", "thought": True}),
    says({"text": "Paris is"}),
    says({"text": " the capital."}, finish="STOP", usageMetadata=USAGE),
)


def translate(
    raw: bytes, *, piecewise: bool = False, include_usage: bool = False
) -> tuple[list[Any], GeminiToChatStream]:
    stream = GeminiToChatStream("gemini-2.5-flash", 1_700_000_000, include_usage=include_usage)
    pieces = [raw[i : i + 1] for i in range(len(raw))] if piecewise else [raw]
    out = b"".join(stream.feed(piece) for piece in pieces) + stream.close()
    return [_load(e.data) for e in SSEParser().feed(out)], stream


def _load(data: str) -> Any:
    return data if data == "[DONE]" else msgspec.json.decode(data)


def deltas(chunks: list[Any]) -> list[dict[str, Any]]:
    return [chunk["choices"][0]["delta"] for chunk in chunks if isinstance(chunk, dict) and chunk["choices"]]


def test_the_first_chunk_announces_the_assistant() -> None:
    chunks, _ = translate(THINKING_STREAM)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}


def test_chunks_carry_the_chunk_envelope_with_one_id() -> None:
    chunks, _ = translate(THINKING_STREAM)
    envelopes = {(c["id"], c["object"], c["created"], c["model"]) for c in chunks if isinstance(c, dict)}
    assert envelopes == {(f"chatcmpl-{RESPONSE_ID}", "chat.completion.chunk", 1_700_000_000, "gemini-2.5-flash")}


def test_thoughts_stream_as_reasoning_content_and_text_as_content() -> None:
    chunks, _ = translate(THINKING_STREAM)
    assert deltas(chunks)[1:4] == [
        {"reasoning_content": "**Recalling geography**"},
        {"content": "Paris is"},
        {"content": " the capital."},
    ]


def test_a_finish_reason_ends_the_choice_in_its_own_chunk() -> None:
    chunks, _ = translate(THINKING_STREAM)
    last_choice = chunks[-2]["choices"][0]
    assert (last_choice["delta"], last_choice["finish_reason"]) == ({}, "stop")


def test_a_finished_stream_closes_with_done() -> None:
    chunks, _ = translate(THINKING_STREAM)
    assert chunks[-1] == "[DONE]"
    assert all("usage" not in chunk and chunk["choices"] for chunk in chunks[:-1])


def test_with_include_usage_a_finished_stream_closes_with_usage_then_done() -> None:
    chunks, _ = translate(THINKING_STREAM, include_usage=True)
    assert chunks[-2]["choices"] == []
    assert chunks[-2]["usage"]["completion_tokens"] == 27
    assert chunks[-1] == "[DONE]"


def test_with_include_usage_every_other_chunk_carries_a_null_usage() -> None:
    chunks, _ = translate(THINKING_STREAM, include_usage=True)
    assert {chunk["usage"] for chunk in chunks[:-2]} == {None}


@pytest.mark.parametrize("include_usage", [False, True])
def test_the_usage_is_reported_whether_or_not_the_client_sees_it(include_usage: bool) -> None:
    reported: list[Any] = []
    stream = GeminiToChatStream("m", 0, include_usage=include_usage, on_usage=reported.append)
    stream.feed(THINKING_STREAM)
    stream.close()
    assert [usage["completion_tokens"] for usage in reported] == [27]


def test_bytes_fed_one_at_a_time_give_the_same_stream() -> None:
    assert translate(THINKING_STREAM, piecewise=True)[0] == translate(THINKING_STREAM)[0]


def test_lf_framing_gives_the_same_stream_as_crlf() -> None:
    lf = wire(
        says({"text": "**Recalling geography**", "thought": True}),
        says({"text": "Paris is"}),
        says({"text": " the capital."}, finish="STOP", usageMetadata=USAGE),
        newline=b"\n",
    )
    assert translate(lf)[0] == translate(THINKING_STREAM)[0]


def test_function_calls_stream_whole_with_indexes_counted_across_events() -> None:
    raw = wire(
        says({"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "CiQB0e2K"}),
        says({"functionCall": {"name": "get_time", "args": {}}}, finish="STOP", usageMetadata=USAGE),
    )
    calls = [call for delta in deltas(translate(raw)[0]) for call in delta.get("tool_calls", ())]
    assert [(c["index"], c["type"], c["function"]) for c in calls] == [
        (0, "function", {"name": "get_weather", "arguments": '{"city":"Paris"}'}),
        (1, "function", {"name": "get_time", "arguments": "{}"}),
    ]
    assert calls[0]["extra_content"] == {"google": {"thought_signature": "CiQB0e2K"}}
    assert calls[0]["id"] != calls[1]["id"]


def test_a_stop_after_function_calls_finishes_as_tool_calls() -> None:
    raw = wire(says({"functionCall": {"name": "get_time", "args": {}}}, finish="STOP"))
    chunks, _ = translate(raw)
    assert [c["choices"][0]["finish_reason"] for c in chunks if isinstance(c, dict)][-1] == "tool_calls"


def test_streamed_tool_call_ids_match_the_non_streamed_ones() -> None:
    answer = says({"functionCall": {"name": "get_time", "args": {}}}, finish="STOP")
    streamed = deltas(translate(wire(answer))[0])[1]["tool_calls"][0]["id"]
    whole = gemini_to_chat(answer, model="m", created=0)["choices"][0]["message"]["tool_calls"][0]["id"]
    assert streamed == whole


def test_a_safety_stop_finishes_as_content_filter() -> None:
    raw = wire(says({"text": "Here is"}), event([{"finishReason": "SAFETY", "index": 0}]))
    chunks, _ = translate(raw)
    assert chunks[-2]["choices"][0]["finish_reason"] == "content_filter"
    assert chunks[-1] == "[DONE]"


def test_max_tokens_finishes_as_length() -> None:
    chunks, _ = translate(wire(says({"text": "Once upon"}, finish="MAX_TOKENS")))
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"


def test_the_last_usage_seen_is_the_one_reported() -> None:
    raw = wire(
        says({"text": "Hi"}, usageMetadata={"promptTokenCount": 9, "totalTokenCount": 9}),
        says({"text": "!"}, finish="STOP", usageMetadata=USAGE),
    )
    assert translate(raw, include_usage=True)[0][-2]["usage"]["total_tokens"] == 36


def test_a_stream_without_usage_closes_with_done_alone() -> None:
    chunks, _ = translate(wire(says({"text": "Hi"}, finish="STOP")))
    assert chunks[-1] == "[DONE]"
    assert "usage" not in chunks[-2]


def test_a_stream_cut_before_any_finish_reason_closes_with_nothing() -> None:
    stream = GeminiToChatStream("gemini-2.5-flash", 1_700_000_000)
    out = stream.feed(wire(says({"text": "Paris is"})))
    assert out != b""
    assert stream.close() == b""
    assert b"[DONE]" not in out


def test_a_stream_cut_mid_event_closes_with_nothing() -> None:
    stream = GeminiToChatStream("gemini-2.5-flash", 1_700_000_000)
    out = stream.feed(wire(says({"text": "Paris is"})) + b'data: {"candidates": [{"content": {"par')
    assert stream.close() == b""
    assert b"[DONE]" not in out


def test_an_empty_stream_closes_with_nothing() -> None:
    stream = GeminiToChatStream("gemini-2.5-flash", 1_700_000_000)
    assert stream.close() == b""


def test_a_blocked_prompt_before_any_output_is_a_client_error() -> None:
    raw = wire(event(promptFeedback={"blockReason": "SAFETY"}, usageMetadata={"promptTokenCount": 9}))
    with pytest.raises(UpstreamClientError, match="prompt blocked by Gemini: SAFETY"):
        GeminiToChatStream("gemini-2.5-flash", 0).feed(raw)


def test_a_block_after_output_is_a_broken_stream() -> None:
    stream = GeminiToChatStream("gemini-2.5-flash", 0)
    stream.feed(wire(says({"text": "Hi"})))
    with pytest.raises(InvalidUpstreamResponse):
        stream.feed(wire(event(promptFeedback={"blockReason": "OTHER"})))


def test_an_error_event_before_any_output_is_classified_by_its_code() -> None:
    error = {"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}}
    with pytest.raises(UpstreamRateLimited):
        GeminiToChatStream("gemini-2.5-flash", 0).feed(b"data: " + msgspec.json.encode(error) + b"\r\n\r\n")


def test_an_error_event_after_output_is_a_broken_stream() -> None:
    stream = GeminiToChatStream("gemini-2.5-flash", 0)
    stream.feed(wire(says({"text": "Hi"})))
    with pytest.raises(InvalidUpstreamResponse, match="Internal error"):
        stream.feed(b'data: {"error": {"code": 500, "message": "Internal error", "status": "INTERNAL"}}\r\n\r\n')


def test_an_event_that_is_not_json_is_invalid() -> None:
    with pytest.raises(InvalidUpstreamResponse):
        GeminiToChatStream("gemini-2.5-flash", 0).feed(b"data: {not json\r\n\r\n")


def two_candidates() -> dict[str, Any]:
    a = {"content": {"parts": [{"text": "A"}], "role": "model"}}
    b = {"content": {"parts": [{"text": "B"}], "role": "model"}, "index": 1}
    return event([a, b])


def test_two_candidates_stream_as_two_choices() -> None:
    chunks, _ = translate(
        wire(two_candidates(), event([{"finishReason": "STOP"}, {"finishReason": "STOP", "index": 1}]))
    )
    contents = [(c["choices"][0]["index"], c["choices"][0]["delta"].get("content")) for c in chunks[:4]]
    assert contents == [(0, ""), (0, "A"), (1, ""), (1, "B")]


def test_a_stream_is_complete_only_once_every_choice_finished() -> None:
    stream = GeminiToChatStream("gemini-2.5-flash", 0)
    out = stream.feed(wire(two_candidates(), event([{"finishReason": "STOP", "index": 0}])))
    assert stream.close() == b""
    assert b"[DONE]" not in out


def test_streamed_logprobs_ride_on_the_content_delta_of_their_event() -> None:
    result = {"chosenCandidates": [{"token": "Hi", "logProbability": -0.5}]}
    candidate = {"content": {"parts": [{"text": "Hi"}], "role": "model"}, "index": 0, "logprobsResult": result}
    chunks, _ = translate(wire(event([candidate]), says({"text": "!"}, finish="STOP")))
    logprobs = [chunk["choices"][0]["logprobs"] for chunk in chunks if isinstance(chunk, dict)]
    assert logprobs[1] == {"content": [{"token": "Hi", "logprob": -0.5, "bytes": list(b"Hi"), "top_logprobs": []}],
                           "refusal": None}  # fmt: skip
    assert logprobs[0] is None and logprobs[2] is None
