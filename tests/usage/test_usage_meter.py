from __future__ import annotations

from collections.abc import Iterable

import pytest

from keyproxy.events import Tokens
from keyproxy.usage import UsageMeter

_CHUNK = '{"id":"chatcmpl-1","object":"chat.completion.chunk","model":"gpt-4o","choices":[%s],"usage":null}'
OPENAI_STREAM = (
    b"data: " + (_CHUNK % '{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}').encode()
    + b"\n\ndata: " + (_CHUNK % '{"index":0,"delta":{"content":"Hello"},"finish_reason":null}').encode()
    + b"\n\ndata: " + (_CHUNK % '{"index":0,"delta":{},"finish_reason":"stop"}').encode()
    + b'\n\ndata: {"id":"chatcmpl-1","object":"chat.completion.chunk","model":"gpt-4o","choices":[],'
    b'"usage":{"prompt_tokens":1234,"completion_tokens":56,"total_tokens":1290,'
    b'"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},'
    b'"completion_tokens_details":{"reasoning_tokens":12,"audio_tokens":0,'
    b'"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}\n\n'
    b"data: [DONE]\n\n"
)  # fmt: skip
OPENAI_TOKENS = Tokens(prompt=1234, completion=56, cached=1024, reasoning=12)

ANTHROPIC_STREAM = (
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message",'
    b'"role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,'
    b'"usage":{"input_tokens":25,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,'
    b'"output_tokens":1}}}\n\n'
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
    b'"content_block":{"type":"text","text":""}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    b'"delta":{"type":"text_delta","text":"Hello there"}}\n\n'
    b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
    b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn",'
    b'"stop_sequence":null},"usage":{"output_tokens":15}}\n\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)
ANTHROPIC_TOKENS = Tokens(prompt=2125, completion=15, cached=2000)


_RESPONSE = (
    b'{"id":"resp_1","object":"response","status":"%s","model":"gpt-5","output":%s,"tools":[],'
    b'"max_output_tokens":4096,"usage":%s,"user":null,"metadata":{}}'
)
RESPONSES_STREAM = (
    b'event: response.created\ndata: {"type":"response.created","sequence_number":0,"response":'
    + _RESPONSE % (b"in_progress", b"[]", b"null") + b"}\n\n"
    b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":1,'
    b'"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hello","logprobs":[]}\n\n'
    b'event: response.completed\ndata: {"type":"response.completed","sequence_number":2,"response":'
    + _RESPONSE % (
        b"completed",
        b'[{"type":"message","content":[{"type":"output_text","text":"' + b"Hello " * 300 + b'"}]}]',
        b'{"input_tokens":900,"input_tokens_details":{"cached_tokens":512},"output_tokens":301,'
        b'"output_tokens_details":{"reasoning_tokens":64},"total_tokens":1201}',
    )
    + b"}\n\n"
)  # fmt: skip
RESPONSES_TOKENS = Tokens(prompt=900, completion=301, cached=512, reasoning=64)


def meter_over(chunks: Iterable[bytes]) -> UsageMeter:
    meter = UsageMeter()
    for chunk in chunks:
        meter.observe(chunk)
    return meter


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_openai_stream_with_include_usage_reports_the_final_usage() -> None:
    assert meter_over(OPENAI_STREAM.split(b"\n\n")).tokens() == OPENAI_TOKENS


def test_a_responses_api_stream_reports_the_usage_of_its_completed_response() -> None:
    assert meter_over(RESPONSES_STREAM.split(b"\n\n")).tokens() == RESPONSES_TOKENS


@pytest.mark.parametrize("size", [1, 5, 64, 1000])
def test_a_responses_api_stream_in_any_pieces_reads_the_same_counts(size: int) -> None:
    assert meter_over(pieces(RESPONSES_STREAM, size)).tokens() == RESPONSES_TOKENS


def test_anthropic_stream_combines_message_start_and_message_delta() -> None:
    assert meter_over(ANTHROPIC_STREAM.split(b"\n\n")).tokens() == ANTHROPIC_TOKENS


@pytest.mark.parametrize(("stream", "expected"), [(OPENAI_STREAM, OPENAI_TOKENS), (ANTHROPIC_STREAM, ANTHROPIC_TOKENS)])
@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_stream_fed_in_tiny_pieces_reads_the_same_counts(stream: bytes, expected: Tokens, size: int) -> None:
    assert meter_over(pieces(stream, size)).tokens() == expected


@pytest.mark.parametrize(("stream", "expected"), [(OPENAI_STREAM, OPENAI_TOKENS), (ANTHROPIC_STREAM, ANTHROPIC_TOKENS)])
def test_usage_split_across_two_chunks_at_any_byte_is_found(stream: bytes, expected: Tokens) -> None:
    start = stream.index(b'"usage":{')
    for cut in range(start, start + 200):
        assert meter_over([stream[:cut], stream[cut:]]).tokens() == expected, cut


def test_a_number_cut_by_a_chunk_boundary_is_read_whole() -> None:
    cut = OPENAI_STREAM.index(b"1234") + 2
    assert meter_over([OPENAI_STREAM[:cut], OPENAI_STREAM[cut:]]).tokens() == OPENAI_TOKENS


def test_usage_in_a_groq_x_groq_object_is_read() -> None:
    chunk = (
        b'data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],'
        b'"x_groq":{"id":"req_1","usage":{"queue_time":0.01,"prompt_tokens":40,"prompt_time":0.002,'
        b'"completion_tokens":8,"completion_time":0.01,"total_tokens":48}}}\n\n'
    )
    assert meter_over([chunk]).tokens() == Tokens(prompt=40, completion=8)


def test_stream_without_usage_is_none() -> None:
    stream = b'data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n'
    assert meter_over(pieces(stream, 5)).tokens() is None


def test_usage_null_in_every_chunk_alone_is_none() -> None:
    chunks_before_the_usage = OPENAI_STREAM.split(b"\n\n")[:3]
    assert meter_over(chunks_before_the_usage).tokens() is None


def test_usage_quoted_inside_generated_text_is_not_counted() -> None:
    text = b'data: {"choices":[{"delta":{"content":"say \\"usage\\": {\\"prompt_tokens\\": 999}"}}]}\n\n'
    assert meter_over([text]).tokens() is None


def test_counts_far_from_any_usage_mark_are_not_read() -> None:
    stray = b'data: {"note":{"prompt_tokens":7}}\n\n' + b"x" * 4096
    assert meter_over(pieces(stray, 512)).tokens() is None


def test_a_usage_object_recorded_aside_counts_as_if_it_had_passed() -> None:
    meter = UsageMeter()
    meter.record({"prompt_tokens": 1234, "completion_tokens": 56, "total_tokens": 1290,
                  "prompt_tokens_details": {"cached_tokens": 1024},
                  "completion_tokens_details": {"reasoning_tokens": 12}})  # fmt: skip
    assert meter.tokens() == OPENAI_TOKENS


def test_usage_recorded_aside_and_usage_seen_in_the_stream_are_not_added_twice() -> None:
    meter = meter_over(OPENAI_STREAM.split(b"\n\n"))
    meter.record({"prompt_tokens": 1234, "completion_tokens": 56, "prompt_tokens_details": {"cached_tokens": 1024}})
    assert meter.tokens() == OPENAI_TOKENS
