"""STREAM_RETRY_ON_REASONING_ONLY in the router (MockTransport, FakeClock): a stream's reasoning is held back
until its answer begins, so one that breaks before that moves to the next key, as one that never started."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from keyproxy.config import EngineSettings, Timeouts
from keyproxy.engine.pool import Pool
from keyproxy.engine.router import Call, Router
from keyproxy.errors import ErrorClass, UpstreamError, UpstreamUnreachable
from keyproxy.state import MemoryStore
from keyproxy.testing import FakeClock, RecordingSink
from keyproxy.transport import MockResponse, MockTransport, UpstreamRequest
from support import IDS, openai_provider

KEYS = ("sk-one-0000000000001", "sk-two-0000000000002")
ROLE = b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n'
THINK = b'data: {"choices":[{"index":0,"delta":{"reasoning_content":"let me see"}}]}\n\n'
ANSWER = b'data: {"choices":[{"index":0,"delta":{"content":"42"}}]}\n\n'
DONE = b"data: [DONE]\n\n"
BROKE = UpstreamUnreachable("connection reset")


def relayed(first_key: Sequence[bytes | UpstreamError], *, hold: bool = True) -> tuple[bytes, str, RecordingSink]:
    """What the client would receive, from which key; the second key always answers whole."""
    streams = {KEYS[0]: first_key, KEYS[1]: [ROLE, THINK, ANSWER, DONE]}

    async def handler(request: UpstreamRequest) -> MockResponse:
        key = request.headers["Authorization"].removeprefix("Bearer ")
        return MockResponse(200, {"content-type": "text/event-stream"}, streams[key])

    sink = RecordingSink()
    pools = {"p": Pool.build(openai_provider("p", KEYS), tolerance=0, fingerprints=IDS)}
    engine = EngineSettings(stream_retry_reasoning_only=hold)
    router = Router(pools, MockTransport(handler), MemoryStore(), FakeClock(), sink, Timeouts(), engine)

    async def go() -> tuple[bytes, str]:
        opened = await router.open(Call("p", "m", "chat", b'{"model":"m"}', stream=True))
        received = b""
        try:
            while (chunk := await opened.next_chunk()) is not None:
                received += chunk
        except UpstreamError:
            received += b"<broke>"
        await opened.finish()
        return received, opened.key_mask

    received, key = asyncio.run(go())
    return received, key, sink


def test_a_stream_that_breaks_after_only_reasoning_is_answered_by_the_next_key() -> None:
    received, key, sink = relayed([ROLE, THINK, THINK, BROKE])
    assert received == ROLE + THINK + ANSWER + DONE
    assert key.endswith("0002")
    assert [event.outcome for event in sink.events] == [ErrorClass.TRANSIENT, None]


def test_a_stream_that_ends_after_only_reasoning_without_its_end_is_answered_by_the_next_key() -> None:
    received, key, _ = relayed([ROLE, THINK])
    assert received == ROLE + THINK + ANSWER + DONE and key.endswith("0002")


def test_reasoning_split_across_pieces_is_still_held_back() -> None:
    _, key, _ = relayed([ROLE + THINK[:20], THINK[20:], BROKE])
    assert key.endswith("0002")


def test_once_the_answer_has_begun_the_held_reasoning_goes_out_with_it_and_a_break_is_not_retried() -> None:
    received, key, _ = relayed([ROLE, THINK, ANSWER, BROKE])
    assert received == ROLE + THINK + ANSWER + b"<broke>"
    assert key.endswith("0001")


def test_without_the_setting_reasoning_is_relayed_at_once_and_a_break_is_not_retried() -> None:
    received, key, _ = relayed([ROLE, THINK, BROKE], hold=False)
    assert received == ROLE + THINK + b"<broke>"
    assert key.endswith("0001")
