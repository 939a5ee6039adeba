"""The engine's resilience rules, in memory: waiting, stickiness, tiers, quota groups, headroom, chains."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

import msgspec
import pytest

from keyproxy.config import EngineSettings, ProviderSettings, Timeouts
from keyproxy.config.settings import AnswerLimits
from keyproxy.engine.pool import Pool
from keyproxy.engine.reprobe import Reprober
from keyproxy.engine.router import Call, Router
from keyproxy.errors import DeadlineExceeded, NoKeyAvailable, NoKeyForModel, UpstreamContextTooLong
from keyproxy.state import MemoryStore
from keyproxy.testing import FakeClock, RecordingSink
from keyproxy.transport import MockResponse, MockTransport, UpstreamRequest
from support import IDS, openai_provider

KEYS = ("sk-one-0000000000001", "sk-two-0000000000002", "sk-three-000000000003")
ONE, TWO, THREE = "...0001", "...0002", "...0003"  # as events show them
OK = msgspec.json.encode({"choices": [{"message": {"content": "hi"}}]})
Reply = Callable[[str, UpstreamRequest], Awaitable[MockResponse]]


def provider(name: str = "p", **tuning: Any) -> ProviderSettings:
    return openai_provider(name, KEYS, **tuning)


def build(
    reply: Reply, clock: FakeClock, *providers: ProviderSettings, total: float = 30.0, **engine: Any
) -> tuple[Router, RecordingSink]:
    async def handler(request: UpstreamRequest) -> MockResponse:
        return await reply(request.headers["Authorization"].removeprefix("Bearer ")[:6], request)

    recorder = RecordingSink()
    pools = {p.name: Pool.build(p, tolerance=0, fingerprints=IDS) for p in providers or (provider(),)}
    settings = EngineSettings(**engine)
    built = Router(pools, MockTransport(handler), MemoryStore(), clock, recorder, Timeouts(total=total), settings)
    return built, recorder


def call(provider: str = "p", model: str = "m") -> Call:
    return Call(provider, model, "chat", b'{"model":"m"}')


def run(router: Router, *calls: Call, **chain: Any) -> Any:
    async def go() -> Any:
        opened = await router.open_chain(calls or (call(),), **chain)
        await opened.finish()
        return opened

    return asyncio.run(go())


def ok(headers: Mapping[str, str] | None = None) -> MockResponse:
    return MockResponse.json(200, OK, headers)


def limited(seconds: str = "2") -> MockResponse:
    return MockResponse.json(429, b'{"error": {"message": "slow"}}', {"retry-after": seconds})


def test_when_every_key_is_cooling_the_request_waits_for_the_first_to_recover() -> None:
    clock = FakeClock()
    calls = {"n": 0}

    async def reply(key: str, request: UpstreamRequest) -> MockResponse:
        calls["n"] += 1
        return limited("5") if calls["n"] <= 3 else ok()

    router, _ = build(reply, clock)
    with pytest.raises(NoKeyAvailable):
        run(router)  # each key is tried once and cools for 5 s
    started = clock.now()
    opened = run(router)  # a new request waits for the earliest recovery instead of failing
    assert opened.status == 200 and clock.now() - started == pytest.approx(5)


def test_a_recovery_later_than_the_deadline_is_not_waited_for() -> None:
    clock = FakeClock()
    router, recorder = build(lambda key, request: _value(limited("120")), clock, total=30)
    with pytest.raises(NoKeyAvailable) as caught:
        run(router)
    assert caught.value.status == 429 and caught.value.retry_after == 120
    started = clock.now()
    with pytest.raises(NoKeyAvailable):
        run(router)
    assert clock.now() == started
    assert len(recorder.key_masks) == 3


def test_a_request_waits_for_a_key_at_its_concurrency_cap_to_free() -> None:
    clock = FakeClock()
    release = asyncio.Event()
    seen: list[str] = []

    async def reply(key: str, request: UpstreamRequest) -> MockResponse:
        seen.append(key)
        if len(seen) == 1:
            await release.wait()
        return ok()

    one_key = openai_provider("p", KEYS[:1], max_concurrent_per_key=1)
    router, _ = build(reply, clock, one_key)

    async def go() -> None:
        first = asyncio.create_task(router.open(call()))
        await asyncio.sleep(0.01)
        second = asyncio.create_task(router.open(call()))
        await asyncio.sleep(0.01)
        assert len(seen) == 1  # the second request is waiting, not failing
        release.set()
        for task in (first, second):
            await (await task).finish()

    asyncio.run(go())
    assert seen == ["sk-one", "sk-one"]


def test_sequential_rotation_sticks_to_one_key_until_it_fails() -> None:
    clock = FakeClock()
    failing: set[str] = set()

    async def reply(key: str, request: UpstreamRequest) -> MockResponse:
        return limited("60") if key in failing else ok()

    router, recorder = build(reply, clock, provider(rotation_mode="sequential"))
    for _ in range(3):
        run(router)
    failing.add("sk-one")
    for _ in range(3):
        run(router)
    assert recorder.key_masks == [ONE] * 4 + [TWO] * 3


def test_a_lower_priority_tier_is_used_only_when_the_higher_one_has_no_key() -> None:
    clock = FakeClock()
    failing: set[str] = set()

    async def reply(key: str, request: UpstreamRequest) -> MockResponse:
        return limited("60") if key in failing else ok()

    router, recorder = build(reply, clock, provider(priorities=(2, 1, 2)))
    for _ in range(3):
        run(router)
    assert recorder.key_masks == [TWO] * 3
    failing.add("sk-two")
    run(router)
    assert recorder.key_masks[-2:] == [TWO, ONE]


def test_a_quota_group_cools_together() -> None:
    clock = FakeClock()

    async def reply(key: str, request: UpstreamRequest) -> MockResponse:
        return limited("60") if key == "sk-one" else ok()

    router, recorder = build(reply, clock, provider(quota_groups={"g": ("a", "b")}))
    run(router, call(model="a"))
    run(router, call(model="b"))
    assert recorder.key_masks == [ONE, TWO, THREE]  # key one is not tried for b: its group is cooling


def test_a_key_that_reports_no_requests_left_is_avoided_until_its_window_resets() -> None:
    clock = FakeClock()

    async def reply(key: str, request: UpstreamRequest) -> MockResponse:
        if key == "sk-one":
            return ok({"x-ratelimit-limit-requests": "100", "x-ratelimit-remaining-requests": "0",
                       "x-ratelimit-reset-requests": "30s"})  # fmt: skip
        return ok()

    router, recorder = build(reply, clock)
    for _ in range(4):
        run(router)
    assert recorder.key_masks.count(ONE) == 1
    clock.advance(31)
    for _ in range(3):
        run(router)
    assert recorder.key_masks.count(ONE) == 2


def test_max_attempts_bounds_the_keys_tried() -> None:
    clock = FakeClock()
    router, recorder = build(lambda key, request: _value(limited("60")), clock, max_attempts=2)
    with pytest.raises(NoKeyAvailable):
        run(router)
    assert len(recorder.key_masks) == 2


def test_a_fallback_chain_moves_on_when_a_target_has_no_usable_key() -> None:
    clock = FakeClock()

    async def reply(key: str, request: UpstreamRequest) -> MockResponse:
        return limited("60") if "first" in request.url else ok()

    router, _ = build(reply, clock, provider("first"), provider("second"))
    opened = run(router, call("first"), call("second"))
    assert opened.provider == "second" and opened.attempts == 1


def test_a_chain_tries_no_further_target_once_the_budget_is_spent() -> None:
    clock = FakeClock()
    asked: list[str] = []

    async def reply(key: str, request: UpstreamRequest) -> MockResponse:
        asked.append(request.url)
        clock.advance(11)  # three failed keys of "first" take 33 s of the 30 s budget
        return MockResponse.json(503, b'{"error": {"message": "busy"}}') if "first" in request.url else ok()

    router, _ = build(reply, clock, provider("first"), provider("second"))
    with pytest.raises(DeadlineExceeded) as caught:
        run(router, call("first"), call("second"))
    assert caught.value.status == 504 and caught.value.retry_after is not None
    assert not [url for url in asked if "second" in url]


def test_a_chain_falls_back_on_context_length_only_when_told_to() -> None:
    clock = FakeClock()
    too_long = b'{"error": {"message": "too long", "code": "context_length_exceeded"}}'

    async def reply(key: str, request: UpstreamRequest) -> MockResponse:
        return MockResponse.json(400, too_long) if "small" in request.url else ok()

    router, _ = build(reply, clock, provider("small"), provider("big"))
    with pytest.raises(UpstreamContextTooLong):
        run(router, call("small"), call("big"))
    assert run(router, call("small"), call("big"), on_context_length=True).provider == "big"


def test_the_answer_says_which_key_served_it_after_how_many_attempts() -> None:
    clock = FakeClock()

    async def reply(key: str, request: UpstreamRequest) -> MockResponse:
        return limited("60") if key == "sk-one" else ok()

    opened = run(build(reply, clock)[0])
    assert (opened.provider, opened.key_mask, opened.attempts) == ("p", "...0002", 2)


def test_a_benched_key_that_answers_the_probe_is_used_again() -> None:
    clock = FakeClock()
    rejected = {"sk-one"}

    async def reply(key: str, request: UpstreamRequest) -> MockResponse:
        if key in rejected:
            return MockResponse.json(401, b'{"error": {"message": "bad key"}}')
        return ok() if request.method == "POST" else MockResponse.json(200, b'{"data": []}')

    router, _ = build(reply, clock)
    run(router)
    rejected.clear()
    reprober = Reprober(router.pools, router.transport, router.state, clock, bench_seconds=600)
    clock.advance(590)
    asyncio.run(reprober.probe_due())
    statuses = asyncio.run(router.state.statuses("p", router.pools["p"].key_ids, "m"))
    assert statuses[0].benched_until == 0


def test_a_probe_that_is_still_rejected_extends_the_bench() -> None:
    clock = FakeClock()
    router, _ = build(lambda key, request: _value(MockResponse.json(401, b"{}")), clock)
    with pytest.raises(Exception):  # noqa: B017, PT011 - every key rejected
        run(router)
    reprober = Reprober(router.pools, router.transport, router.state, clock, bench_seconds=600)
    clock.advance(590)
    asyncio.run(reprober.probe_due())
    statuses = asyncio.run(router.state.statuses("p", router.pools["p"].key_ids, "m"))
    assert statuses[0].benched_until == clock.now() + 600


def test_a_probe_answered_with_a_body_past_the_cap_leaves_the_key_benched() -> None:
    clock = FakeClock()
    rejected = {"sk-one"}

    async def reply(key: str, request: UpstreamRequest) -> MockResponse:
        if key in rejected:
            return MockResponse.json(401, b'{"error": {"message": "bad key"}}')
        return ok() if request.method == "POST" else MockResponse.json(200, b'{"data": []}' + b" " * 8192)

    router, _ = build(reply, clock)
    run(router)
    rejected.clear()
    reprober = Reprober(router.pools, router.transport, router.state, clock, 600, AnswerLimits(body_bytes=4096))
    clock.advance(590)
    asyncio.run(reprober.probe_due())
    statuses = asyncio.run(router.state.statuses("p", router.pools["p"].key_ids, "m"))
    assert statuses[0].benched_until == clock.now() + 10


async def _value(response: MockResponse) -> MockResponse:
    return response


def declaring(name: str, *declared: tuple[str, ...] | None) -> ProviderSettings:
    """A provider whose keys declare these models (`<P>_API_KEY_<N>_MODELS`), key by key."""
    settings = provider(name)
    credentials = tuple(
        replace(credential, models=models) for credential, models in zip(settings.credentials, declared, strict=True)
    )
    return replace(settings, credentials=credentials)


def test_a_model_goes_only_to_the_keys_that_declare_it() -> None:
    used: list[str] = []

    async def reply(key: str, request: UpstreamRequest) -> MockResponse:
        used.append(key)
        return ok()

    router, _ = build(reply, FakeClock(), declaring("p", ("paid-*",), ("free-model",), None))
    for _ in range(6):
        run(router, call(model="free-model"))
    assert set(used) == {"sk-two", "sk-thr"}


def test_no_key_declaring_the_model_is_model_not_found_and_asks_no_upstream() -> None:
    asked: list[str] = []

    async def reply(key: str, request: UpstreamRequest) -> MockResponse:
        asked.append(key)
        return ok()

    router, _ = build(reply, FakeClock(), declaring("p", ("a",), ("b",), ("c",)))
    with pytest.raises(NoKeyForModel) as raised:
        run(router, call(model="d"))
    assert (raised.value.status, raised.value.code, asked) == (404, "model_not_found", [])


def test_a_chain_goes_on_to_its_next_target_when_no_key_declares_the_model() -> None:
    async def reply(key: str, request: UpstreamRequest) -> MockResponse:
        return ok()

    router, _ = build(reply, FakeClock(), declaring("p", ("a",), ("b",), ("c",)), provider("q"))
    opened = run(router, call("p", "d"), call("q", "d"))
    assert opened.provider == "q"


def test_a_provider_with_no_key_left_is_not_taken_for_one_whose_keys_declare_other_models() -> None:
    async def reply(key: str, request: UpstreamRequest) -> MockResponse:
        return ok()

    router, _ = build(reply, FakeClock(), openai_provider("p", ()))
    with pytest.raises(NoKeyAvailable):
        run(router, call(model="d"))
