"""The token source: refreshed ahead of expiry in the background, one refresh at a time, never making a
request with a valid token wait."""

from __future__ import annotations

import asyncio

import pytest

from keyproxy.engine.token_source import Token, TokenSource
from keyproxy.errors import UpstreamUnreachable
from keyproxy.testing import FakeClock


class Endpoint:
    """A token endpoint that answers when released, and counts what it was asked."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls = 0
        self.release = asyncio.Event()
        self.release.set()
        self.failing = False

    async def fetch(self) -> Token:
        self.calls += 1
        await self.release.wait()
        if self.failing:
            raise UpstreamUnreachable("token endpoint down")
        return Token(f"fresh-{self.calls}", self.clock.now() + 3600)


def source(clock: FakeClock, endpoint: Endpoint, expires_in: float | None) -> TokenSource:
    start = None if expires_in is None else Token("old", clock.now() + expires_in)
    return TokenSource(endpoint.fetch, clock, start, margin=300, skew=30, backoff=60)


def test_a_token_far_from_expiry_is_used_without_a_refresh() -> None:
    async def run() -> None:
        clock = FakeClock()
        endpoint = Endpoint(clock)
        tokens = source(clock, endpoint, 3000)
        assert (await tokens.get()).value == "old"
        await asyncio.sleep(0)
        assert endpoint.calls == 0

    asyncio.run(run())


def test_a_token_within_its_margin_is_used_while_the_refresh_runs_in_the_background() -> None:
    async def run() -> None:
        clock = FakeClock()
        endpoint = Endpoint(clock)
        endpoint.release.clear()
        tokens = source(clock, endpoint, 200)
        first = await tokens.get()
        second = await tokens.get()
        await asyncio.sleep(0)
        assert (first.value, second.value, endpoint.calls) == ("old", "old", 1)
        endpoint.release.set()
        for _ in range(3):
            await asyncio.sleep(0)
        assert (await tokens.get()).value == "fresh-1"
        assert endpoint.calls == 1

    asyncio.run(run())


def test_requests_without_a_valid_token_share_one_refresh() -> None:
    async def run() -> None:
        clock = FakeClock()
        endpoint = Endpoint(clock)
        tokens = source(clock, endpoint, 10)  # inside the skew: no longer good to send
        got = await asyncio.gather(*(tokens.get() for _ in range(5)))
        assert {token.value for token in got} == {"fresh-1"}
        assert endpoint.calls == 1

    asyncio.run(run())


def test_a_failed_background_refresh_keeps_the_old_token_and_rests_before_trying_again() -> None:
    async def run() -> None:
        clock = FakeClock()
        endpoint = Endpoint(clock)
        endpoint.failing = True
        tokens = source(clock, endpoint, 200)
        assert (await tokens.get()).value == "old"
        for _ in range(3):
            await asyncio.sleep(0)
        assert (await tokens.get()).value == "old"
        await asyncio.sleep(0)
        assert endpoint.calls == 1
        clock.advance(61)
        endpoint.failing = False
        await tokens.get()
        for _ in range(3):
            await asyncio.sleep(0)
        assert endpoint.calls == 2
        assert (await tokens.get()).value == "fresh-2"

    asyncio.run(run())


def test_a_refresh_that_fails_with_no_valid_token_fails_the_request() -> None:
    async def run() -> None:
        clock = FakeClock()
        endpoint = Endpoint(clock)
        endpoint.failing = True
        tokens = source(clock, endpoint, None)
        with pytest.raises(UpstreamUnreachable):
            await tokens.get()

    asyncio.run(run())


def test_a_refused_token_is_renewed_once_however_many_requests_saw_it_refused() -> None:
    async def run() -> None:
        clock = FakeClock()
        endpoint = Endpoint(clock)
        tokens = source(clock, endpoint, 3000)
        refused = tokens.generation
        renewed = await asyncio.gather(tokens.renew(refused), tokens.renew(refused))
        assert {token.value for token in renewed} == {"fresh-1"}
        assert endpoint.calls == 1
        # A refusal of the token before the renewal does not throw the new one away.
        assert (await tokens.renew(refused)).value == "fresh-1"
        assert endpoint.calls == 1

    asyncio.run(run())
