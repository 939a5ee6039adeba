"""Every stream translator and the SSE parser, fed arbitrary bytes and almost-valid event streams cut into
arbitrary pieces: events in the client's format (each one JSON), or an upstream error (the relay ends the
stream with its error event), never another exception."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from fuzz_shapes import CHAT_EVENTS, GEMINI_EVENTS, MESSAGES_EVENTS, RESPONSES_EVENTS
from fuzz_support import event_streams, feed_all, pieces
from keyproxy.errors import UpstreamError
from keyproxy.translate.anthropic_inbound_stream import ChatToMessagesStream
from keyproxy.translate.anthropic_stream import MessagesToChatStream
from keyproxy.translate.gemini_stream import GeminiToChatStream
from keyproxy.translate.responses_mapping import response_object
from keyproxy.translate.responses_stream import ChatToResponsesStream
from keyproxy.translate.responses_watch import ResponsesStreamWatch
from keyproxy.translate.sse import SSEParser

TRANSLATORS: dict[str, tuple[Callable[[], Any], list[tuple[str | None, Any]]]] = {
    "anthropic to chat": (lambda: MessagesToChatStream("m", 1, include_usage=True, on_usage=lambda _: None),
                          MESSAGES_EVENTS),
    "gemini to chat": (lambda: GeminiToChatStream("m", 1, include_usage=True, on_usage=lambda _: None), GEMINI_EVENTS),
    "chat to anthropic": (lambda: ChatToMessagesStream("m", "msg_1"), CHAT_EVENTS),
    "chat to responses": (lambda: ChatToResponsesStream(response_object({}, response_id="resp_1", model="m",
                                                                          created_at=1)), CHAT_EVENTS),
}  # fmt: skip


def events_are_json(out: bytes) -> None:
    parser = SSEParser()
    for event in parser.feed(out):
        if event.data != "[DONE]":
            assert isinstance(msgspec.json.decode(event.data), dict)
    assert not parser.pending


streams = st.sampled_from(sorted(TRANSLATORS)).flatmap(
    lambda name: st.tuples(st.just(name), event_streams(TRANSLATORS[name][1]))
)


@given(streams)
def test_a_translated_stream_is_json_events_or_an_upstream_error(case: tuple[str, list[bytes]]) -> None:
    name, chunks = case
    out = feed_all(TRANSLATORS[name][0](), chunks, UpstreamError)
    if out is not None:
        events_are_json(out)


@given(st.sampled_from(sorted(TRANSLATORS)), st.binary(max_size=200).flatmap(pieces))
def test_a_stream_translator_takes_any_bytes(name: str, chunks: list[bytes]) -> None:
    out = feed_all(TRANSLATORS[name][0](), chunks, UpstreamError)
    if out is not None:
        events_are_json(out)


@given(st.one_of(event_streams(RESPONSES_EVENTS), st.binary(max_size=200).flatmap(pieces)))
def test_a_watched_responses_stream_passes_unchanged_or_is_an_upstream_error(chunks: list[bytes]) -> None:
    out = feed_all(ResponsesStreamWatch(), chunks, UpstreamError)
    assert out is None or out == b"".join(chunks)


@given(st.binary(max_size=300).flatmap(pieces))
def test_the_sse_parser_reads_any_bytes_in_any_pieces_the_same_way(chunks: list[bytes]) -> None:
    whole, cut = SSEParser(), SSEParser()
    assert [event for chunk in chunks for event in cut.feed(chunk)] == whole.feed(b"".join(chunks))
    assert cut.pending == whole.pending
