"""The router in memory: MockTransport for the upstream, FakeClock for time; no sockets, no sleeps."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import msgspec
import pytest

from keyproxy.config import EngineSettings, Timeouts
from keyproxy.engine.pool import Pool
from keyproxy.engine.router import Call, Router
from keyproxy.errors import (
    DeadlineExceeded,
    ErrorClass,
    InvalidRequest,
    LocalExhaustion,
    NoKeyAvailable,
    UpstreamClientError,
    UpstreamFailed,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from keyproxy.state import MemoryStore
from keyproxy.testing import FakeClock, RecordingSink
from keyproxy.transport import MockResponse, MockTransport, UpstreamRequest
from support import IDS, openai_provider

KEYS = ("sk-one-0000000000001", "sk-two-0000000000002")
OK = msgspec.json.encode({"choices": [{"message": {"content": "hi"}}]})
Reply = Callable[[str], Awaitable[MockResponse]]


def make_router(reply: Reply, clock: FakeClock, timeouts: Timeouts | None = None) -> tuple[Router, RecordingSink]:
    provider = openai_provider("p", KEYS)

    async def handler(request: UpstreamRequest) -> MockResponse:
        return await reply(request.headers["Authorization"].removeprefix("Bearer "))

    sink = RecordingSink()
    pools = {"p": Pool.build(provider, tolerance=0, fingerprints=IDS)}
    router = Router(pools, MockTransport(handler), MemoryStore(), clock, sink, timeouts or Timeouts(), EngineSettings())
    return router, sink


def call(stream: bool = False) -> Call:
    return Call("p", "m", "chat", b'{"model":"m"}', stream=stream)


def run(router: Router, *, stream: bool = False) -> bytes:
    async def go() -> bytes:
        opened = await router.open(call(stream))
        await opened.finish()
        return opened.body or opened.first_chunk

    return asyncio.run(go())


async def ok(key: str) -> MockResponse:
    return MockResponse.json(200, OK)


def test_a_success_comes_back_with_the_upstream_bytes() -> None:
    router, sink = make_router(ok, FakeClock())
    assert run(router) == OK
    assert [event.outcome for event in sink.events] == [None]


def test_a_rate_limited_key_comes_back_once_its_cooldown_has_passed() -> None:
    clock = FakeClock()
    limited = {KEYS[0]}

    async def reply(key: str) -> MockResponse:
        if key in limited:
            return MockResponse.json(429, b'{"error": {"message": "slow"}}', {"retry-after": "20"})
        return MockResponse.json(200, OK)

    router, sink = make_router(reply, clock)
    run(router)
    limited.clear()
    for _ in range(4):
        run(router)
    assert [e.key_mask for e in sink.events].count("...0001") == 1
    clock.advance(21)
    run(router)
    assert sink.events[-1].key_mask == "...0001"


def test_every_key_cooling_is_no_key_available_with_the_earliest_recovery() -> None:
    clock = FakeClock()

    async def reply(key: str) -> MockResponse:
        wait = "30" if key == KEYS[0] else "10"
        return MockResponse.json(429, b"{}", {"retry-after": wait})

    router, _ = make_router(reply, clock)
    with pytest.raises(NoKeyAvailable) as caught:
        run(router)
    assert caught.value.retry_after == 10
    assert caught.value.status == 429


def test_a_client_error_is_raised_at_once_without_trying_another_key() -> None:
    router, sink = make_router(lambda key: _json(400, b'{"error": {"message": "too long"}}'), FakeClock())
    with pytest.raises(UpstreamClientError) as caught:
        run(router)
    assert caught.value.message == "too long"
    assert len(sink.events) == 1 and sink.events[0].outcome is ErrorClass.CLIENT_ERROR


def test_every_key_failing_transiently_is_upstream_failed() -> None:
    async def reply(key: str) -> MockResponse:
        raise UpstreamUnreachable("refused")

    router, sink = make_router(reply, FakeClock())
    with pytest.raises(UpstreamFailed) as caught:
        run(router)
    # Each key once, then the first again after the 1 s transient-retry pause: its 10 s cooldown has 9 s left.
    assert caught.value.status == 502 and caught.value.retry_after == 9
    assert [event.outcome for event in sink.events] == [ErrorClass.TRANSIENT] * 3


def test_an_empty_stream_fails_over_to_the_next_key() -> None:
    async def reply(key: str) -> MockResponse:
        chunks = [] if key == KEYS[0] else [b"data: {}\n\n", b"data: [DONE]\n\n"]
        return MockResponse(200, {"content-type": "text/event-stream"}, chunks)

    router, sink = make_router(reply, FakeClock())
    assert run(router, stream=True) == b"data: {}\n\n"
    assert [event.outcome for event in sink.events] == [ErrorClass.TRANSIENT, None]


def test_the_rotation_budget_does_not_cut_an_answer_in_flight() -> None:
    clock = FakeClock()

    async def reply(key: str) -> MockResponse:
        clock.advance(120)  # a long answer: four times GLOBAL_TIMEOUT
        return MockResponse.json(200, OK)

    router, sink = make_router(reply, clock)
    assert run(router) == OK
    assert [event.outcome for event in sink.events] == [None]


def test_an_attempt_that_times_out_cools_its_key_and_the_next_key_answers_within_the_budget() -> None:
    clock = FakeClock()

    async def reply(key: str) -> MockResponse:
        if key == KEYS[0]:
            clock.advance(20)  # the attempt's own read timeout, inside the 30 s budget
            raise UpstreamTimeout("upstream timed out")
        return MockResponse.json(200, OK)

    router, sink = make_router(reply, clock)
    assert run(router) == OK
    assert [(event.key_mask, event.outcome) for event in sink.events] == [
        ("...0001", ErrorClass.TRANSIENT), ("...0002", None)
    ]  # fmt: skip
    statuses = asyncio.run(router.state.statuses("p", router.pools["p"].key_ids, "m"))
    assert statuses[0].cooldown_until == clock.now() + 10


def test_a_timeout_past_the_budget_starts_no_new_attempt_and_is_504_with_retry_after() -> None:
    clock = FakeClock()

    async def reply(key: str) -> MockResponse:
        clock.advance(45)
        raise UpstreamTimeout("upstream timed out")

    router, sink = make_router(reply, clock)
    with pytest.raises(DeadlineExceeded) as caught:
        run(router)
    assert caught.value.status == 504 and caught.value.retry_after == 1  # the other key is usable now
    assert "GLOBAL_TIMEOUT (30 s)" in caught.value.message
    assert [event.outcome for event in sink.events] == [ErrorClass.TRANSIENT]


def test_past_the_budget_with_every_key_cooling_retry_after_is_the_earliest_recovery() -> None:
    clock = FakeClock()

    async def reply(key: str) -> MockResponse:
        clock.advance(16)
        return MockResponse.json(503, b'{"error": {"message": "busy"}}', {"retry-after": "60"})

    router, sink = make_router(reply, clock)
    with pytest.raises(DeadlineExceeded) as caught:
        run(router)
    # Key 1 failed at 16 s and cools until 76 s; key 2 failed at 32 s, past the budget, so nothing follows.
    assert len(sink.events) == 2
    assert caught.value.status == 504 and caught.value.retry_after == 76 - 32


def test_the_key_is_released_after_the_answer() -> None:
    router, _ = make_router(ok, FakeClock())
    run(router)
    statuses = asyncio.run(router.state.statuses("p", router.pools["p"].key_ids, "m"))
    assert [status.in_flight for status in statuses] == [0, 0]


def _json(status: int, body: bytes) -> Awaitable[MockResponse]:
    async def reply() -> MockResponse:
        return MockResponse.json(status, body)

    return reply()


def test_a_request_the_adapter_refuses_gives_its_key_back() -> None:
    router, _ = make_router(ok, FakeClock())
    with pytest.raises(InvalidRequest):
        asyncio.run(router.open(Call("p", "m", "messages", b"{}")))
    statuses = asyncio.run(router.state.statuses("p", router.pools["p"].key_ids, "m"))
    assert [status.in_flight for status in statuses] == [0, 0]


def test_a_whole_answer_has_its_tokens_read_by_the_engine() -> None:
    usage = {"prompt_tokens": 7, "completion_tokens": 3}
    body = msgspec.json.encode({"choices": [{"message": {"content": "hi"}}], "usage": usage})

    async def reply(key: str) -> MockResponse:
        return MockResponse.json(200, body)

    router, sink = make_router(reply, FakeClock())
    run(router)
    tokens = sink.events[-1].tokens
    assert tokens is not None and (tokens.prompt, tokens.completion, tokens.estimated) == (7, 3, False)


def test_a_stream_has_its_tokens_read_by_the_engine_as_it_is_relayed() -> None:
    usage = b'data: {"choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 5}}\n\n'
    chunks = [b'data: {"choices": [{"delta": {"content": "hi"}}]}\n\n', b"", usage, b"data: [DONE]\n\n"]

    async def reply(key: str) -> MockResponse:
        return MockResponse(200, {"content-type": "text/event-stream"}, chunks)

    router, sink = make_router(reply, FakeClock())

    async def relay() -> list[bytes]:
        opened = await router.open(call(stream=True))
        pieces = []
        while (piece := await opened.next_chunk()) is not None:
            pieces.append(piece)
        await opened.finish()
        return pieces

    assert asyncio.run(relay()) == chunks
    tokens = sink.events[-1].tokens
    assert tokens is not None and (tokens.prompt, tokens.completion, tokens.estimated) == (11, 5, False)


def test_each_attempt_is_sent_with_the_read_timeout_of_its_kind() -> None:
    stream = MockResponse(200, {"content-type": "text/event-stream"}, [b"data: [DONE]\n\n"])
    replies = iter([stream, MockResponse.json(200, OK)])

    async def reply(key: str) -> MockResponse:
        return next(replies)

    router, _ = make_router(reply, FakeClock(), Timeouts(read_streaming=7.0, read_non_streaming=70.0))
    run(router, stream=True)
    run(router)
    transport = router.transport
    assert isinstance(transport, MockTransport)
    assert [timeouts.read for timeouts in transport.timeouts] == [7.0, 70.0]


def test_a_machine_out_of_sockets_fails_the_request_at_once_and_blames_no_key() -> None:
    async def reply(key: str) -> MockResponse:
        raise LocalExhaustion("keyproxy cannot open another upstream connection: Too many open files")

    clock = FakeClock()
    router, sink = make_router(reply, clock)
    with pytest.raises(LocalExhaustion):
        run(router)
    assert sink.events == []
    statuses = asyncio.run(router.state.statuses("p", router.pools["p"].key_ids, "m"))
    assert [(status.cooldown_until, status.benched_until, status.in_flight) for status in statuses] == [(0, 0, 0)] * 2


def test_a_pinned_call_uses_only_its_key_even_when_rotation_would_pick_another() -> None:
    used: list[str] = []

    async def reply(key: str) -> MockResponse:
        used.append(key)
        return MockResponse.json(200, OK)

    router, _ = make_router(reply, FakeClock())
    pinned = Call("p", "m", "chat", b'{"model":"m"}', key_id=router.pools["p"].key_ids[1])

    async def go() -> None:
        for _ in range(2):
            await (await router.open(pinned)).finish()

    asyncio.run(go())
    assert used == [KEYS[1], KEYS[1]]


def test_a_pinned_key_that_fails_is_not_replaced_by_another() -> None:
    used: list[str] = []

    async def reply(key: str) -> MockResponse:
        used.append(key)
        return MockResponse.json(401, b'{"error": {"message": "no"}}')

    router, _ = make_router(reply, FakeClock())
    pinned = Call("p", "m", "chat", b'{"model":"m"}', key_id=router.pools["p"].key_ids[0])
    with pytest.raises(UpstreamFailed):
        asyncio.run(router.open(pinned))
    assert used == [KEYS[0]]


def test_reading_what_the_upstream_keeps_costs_no_tokens() -> None:
    async def reply(key: str) -> MockResponse:
        return MockResponse.json(200, b'{"id": "resp_1", "usage": {"input_tokens": 9, "output_tokens": 9}}')

    router, sink = make_router(reply, FakeClock())
    read = Call("p", "m", "chat", b"", method="GET", resource="resp_1")
    asyncio.run(router.open(read))
    [event] = sink.events
    assert event.tokens is not None and (event.tokens.prompt, event.tokens.completion) == (0, 0)
    assert not event.tokens.estimated


def test_has_key_knows_the_keys_of_each_provider() -> None:
    router, _ = make_router(ok, FakeClock())
    key_id = router.pools["p"].key_ids[0]
    assert router.has_key("p", key_id)
    assert not router.has_key("p", "nope") and not router.has_key("q", key_id)


@pytest.mark.parametrize("seed", range(5))
def test_the_transient_second_chance_waits_the_retry_delay_plus_at_most_its_jitter(seed: int) -> None:
    clock = FakeClock()
    sent_at: list[float] = []

    async def handler(request: UpstreamRequest) -> MockResponse:
        sent_at.append(clock.now())
        raise UpstreamUnreachable("refused")

    pools = {"p": Pool.build(openai_provider("p", KEYS), tolerance=0, fingerprints=IDS)}
    engine = EngineSettings(transient_retry_delay=2.0, transient_retry_jitter=3.0)
    router = Router(
        pools, MockTransport(handler), MemoryStore(), clock, RecordingSink(), Timeouts(), engine,
        rng=random.Random(seed),
    )  # fmt: skip
    with pytest.raises(UpstreamFailed):
        run(router)
    assert len(sent_at) == 3 and sent_at[0] == sent_at[1]
    assert 2.0 < sent_at[2] - sent_at[1] <= 5.0  # some jitter, never more than configured
