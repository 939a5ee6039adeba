"""The model lists in memory (MockTransport, FakeClock): bare names are looked up in the cache, which only the
first lookup waits for; an expired list answers while it is refreshed; a provider that fails keeps its list."""

from __future__ import annotations

import asyncio

import msgspec

from keyproxy.config import Timeouts
from keyproxy.config.settings import AnswerLimits
from keyproxy.engine.model_list import ModelList
from keyproxy.engine.pool import Pool
from keyproxy.testing import FakeClock
from keyproxy.transport import MockResponse, MockTransport, UpstreamRequest
from support import IDS, openai_provider

LISTS = {"a.test": ["gpt-4o-mini", "shared"], "b.test": ["shared", "other"]}


class Upstreams:
    """Each provider's /models answer, which a test may hold back or turn into a failure."""

    def __init__(self) -> None:
        self.lists = {host: list(models) for host, models in LISTS.items()}
        self.failing: set[str] = set()
        self.gate = asyncio.Event()
        self.gate.set()
        self.asked: list[str] = []

    async def answer(self, request: UpstreamRequest) -> MockResponse:
        host = request.url.split("/")[2]
        self.asked.append(host)
        await self.gate.wait()
        if host in self.failing:
            return MockResponse.json(503, b'{"error": {"message": "down"}}')
        data = [{"id": model, "object": "model"} for model in self.lists[host]]
        return MockResponse.json(200, msgspec.json.encode({"object": "list", "data": data}))


def model_list(
    upstreams: Upstreams, clock: FakeClock, ttl: float = 300.0, limits: AnswerLimits | None = None
) -> ModelList:
    key = ("sk-key-000000000001",)
    pools = {name: Pool.build(openai_provider(name, key), 0, fingerprints=IDS) for name in ("a", "b")}
    return ModelList(pools, MockTransport(upstreams.answer), clock, Timeouts(), ttl, limits)


def test_a_bare_name_is_found_in_every_list_that_names_it_in_provider_order() -> None:
    models = model_list(Upstreams(), FakeClock())

    async def go() -> list[tuple[str, ...]]:
        return [await models.providers_listing(name) for name in ("gpt-4o-mini", "shared", "other", "none")]

    assert asyncio.run(go()) == [("a",), ("a", "b"), ("b",), ()]


def test_concurrent_first_lookups_share_one_fetch_per_provider() -> None:
    upstreams = Upstreams()
    models = model_list(upstreams, FakeClock())

    async def go() -> None:
        await asyncio.gather(*(models.providers_listing("shared") for _ in range(5)))

    asyncio.run(go())
    assert sorted(upstreams.asked) == ["a.test", "b.test"]


def test_an_expired_list_answers_at_once_and_is_refreshed_in_the_background() -> None:
    upstreams = Upstreams()
    clock = FakeClock()
    models = model_list(upstreams, clock)

    async def go() -> None:
        await models.providers_listing("shared")
        clock.advance(301)
        upstreams.lists["a.test"] = ["brand-new"]
        upstreams.gate.clear()  # the refresh is held back: a lookup must not wait for it
        assert await models.providers_listing("gpt-4o-mini") == ("a",)
        upstreams.gate.set()
        for _ in range(5):
            await asyncio.sleep(0)
        assert await models.providers_listing("brand-new") == ("a",)
        assert await models.providers_listing("gpt-4o-mini") == ()

    asyncio.run(go())


def test_a_provider_that_fails_to_list_keeps_its_last_list() -> None:
    upstreams = Upstreams()
    clock = FakeClock()
    models = model_list(upstreams, clock)

    async def go() -> tuple[str, ...]:
        await models.providers_listing("shared")
        upstreams.failing.add("a.test")
        clock.advance(301)
        await models.provider_models("a")  # a refresh that fails
        return await models.providers_listing("gpt-4o-mini")

    assert asyncio.run(go()) == ("a",)


def test_a_provider_never_listed_contributes_nothing_and_is_retried_within_a_minute() -> None:
    upstreams = Upstreams()
    upstreams.failing.add("a.test")
    clock = FakeClock()
    models = model_list(upstreams, clock)

    async def go() -> list[tuple[str, ...]]:
        first = await models.providers_listing("gpt-4o-mini")
        upstreams.failing.clear()
        clock.advance(61)
        await models.provider_models("a")
        return [first, await models.providers_listing("gpt-4o-mini")]

    assert asyncio.run(go()) == [(), ("a",)]


def test_listings_say_which_provider_could_not_be_listed() -> None:
    upstreams = Upstreams()
    upstreams.failing.add("b.test")
    models = model_list(upstreams, FakeClock())
    assert asyncio.run(models.listings()) == {"a": ("gpt-4o-mini", "shared"), "b": None}


def test_a_list_past_the_answer_size_cap_is_no_list() -> None:
    upstreams = Upstreams()
    upstreams.lists["b.test"] = [f"model-{n:04}" for n in range(200)]  # about 7 KB as JSON
    models = model_list(upstreams, FakeClock(), limits=AnswerLimits(body_bytes=4096))
    assert asyncio.run(models.listings()) == {"a": ("gpt-4o-mini", "shared"), "b": None}


def static_list(upstreams: Upstreams, **tuning: object) -> ModelList:
    provider = openai_provider("a", ("sk-key-000000000001",), static_models={"mine": "org/mine-v2"}, **tuning)
    pools = {"a": Pool.build(provider, 0, fingerprints=IDS)}
    return ModelList(pools, MockTransport(upstreams.answer), FakeClock(), Timeouts(), 300.0)


def test_configured_models_come_first_and_the_upstreams_list_adds_what_they_lack() -> None:
    models = static_list(Upstreams())
    assert asyncio.run(models.provider_models("a")) == ("mine", "gpt-4o-mini", "shared")


def test_an_upstream_without_a_model_list_still_offers_its_configured_models() -> None:
    upstreams = Upstreams()
    upstreams.failing.add("a.test")
    models = static_list(upstreams)
    assert asyncio.run(models.listings()) == {"a": ("mine",)}
    assert asyncio.run(models.providers_listing("mine")) == ("a",)


def test_the_providers_filters_hide_configured_models_too() -> None:
    models = static_list(Upstreams(), ignore_models=("mine",))
    assert asyncio.run(models.provider_models("a")) == ("gpt-4o-mini", "shared")
