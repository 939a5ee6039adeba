from __future__ import annotations

from keyproxy.translate.sse import Event, SSEParser, encode


def test_events_split_across_pieces_come_out_whole() -> None:
    parser = SSEParser()
    assert parser.feed(b"event: ping\nda") == []
    assert parser.pending
    assert parser.feed(b'ta: {"a": 1}\n\ndata: x\n\n') == [Event("ping", '{"a": 1}'), Event("message", "x")]
    assert not parser.pending


def test_crlf_line_endings_and_comments_are_understood() -> None:
    parser = SSEParser()
    assert parser.feed(b": keep-alive\r\n\r\ndata: {}\r\n\r\n") == [Event("message", "{}")]


def test_multi_line_data_is_joined() -> None:
    assert SSEParser().feed(b"data: a\ndata: b\n\n") == [Event("message", "a\nb")]


def test_encode_writes_one_event() -> None:
    assert encode("{}", "message_stop") == b"event: message_stop\ndata: {}\n\n"
    assert encode("[DONE]") == b"data: [DONE]\n\n"


def test_events_under_the_limit_pass_however_long_the_stream() -> None:
    import asyncio

    from fuzz_support import chunks_of
    from keyproxy.translate.sse import capped_events

    stream = [b"data: " + b"x" * 90 + b"\n", b"\n"] * 50

    async def run() -> list[bytes]:
        return [chunk async for chunk in capped_events(chunks_of(stream), 100)]

    assert asyncio.run(run()) == stream


def test_an_event_past_the_limit_is_an_invalid_answer_even_in_small_pieces() -> None:
    import asyncio

    import pytest

    from fuzz_support import chunks_of
    from keyproxy.errors import InvalidUpstreamResponse
    from keyproxy.translate.sse import capped_events

    stream = [b"data: ok\r\n\r\n", *[b"x" * 10] * 11]

    async def run() -> list[bytes]:
        return [chunk async for chunk in capped_events(chunks_of(stream), 100)]

    with pytest.raises(InvalidUpstreamResponse, match="larger than 100 bytes"):
        asyncio.run(run())
