"""Health: a Redis error means "down" once, with one WARNING; DOWN is answered at once until Redis is found again."""

from __future__ import annotations

import asyncio
import logging

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError

from keyproxy.state.redis_health import DOWN, Health


class Calls:
    """An awaitable Redis call that answers, or raises `error`; counts how often it ran."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.count = 0

    async def __call__(self) -> str:
        self.count += 1
        await asyncio.sleep(0)
        if self.error is not None:
            raise self.error
        return "answer"


def levels(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.levelname for record in caplog.records if record.name == "keyproxy.state"]


def test_an_answer_passes_through_while_redis_is_up() -> None:
    health = Health()
    assert asyncio.run(health.attempt(Calls())) == "answer"
    assert health.up


@pytest.mark.parametrize(
    "error", [RedisConnectionError("refused"), ReadOnlyError("replica"), TimeoutError(), ConnectionResetError()]
)
def test_a_redis_error_turns_into_down_once_and_warns_once(
    error: BaseException, caplog: pytest.LogCaptureFixture
) -> None:
    health, failing, later = Health(), Calls(error), Calls()

    async def go() -> list[object]:
        return [await health.attempt(failing), await health.attempt(later), await health.attempt(failing)]

    with caplog.at_level(logging.INFO, logger="keyproxy.state"):
        answers = asyncio.run(go())
    assert answers == [DOWN, DOWN, DOWN]
    assert (failing.count, later.count) == (1, 0)
    assert not health.up
    assert levels(caplog) == ["WARNING"]


def test_calls_failing_together_warn_once(caplog: pytest.LogCaptureFixture) -> None:
    health, failing = Health(), Calls(RedisConnectionError("reset"))

    async def go() -> list[object]:
        return list(await asyncio.gather(*(health.attempt(failing) for _ in range(3))))

    with caplog.at_level(logging.INFO, logger="keyproxy.state"):
        assert asyncio.run(go()) == [DOWN] * 3
    assert failing.count == 3
    assert levels(caplog) == ["WARNING"]


def test_an_error_that_is_not_an_outage_is_raised_and_leaves_redis_up() -> None:
    health = Health()
    with pytest.raises(ValueError, match="bug"):
        asyncio.run(health.attempt(Calls(ValueError("bug"))))
    assert health.up


def test_recover_is_true_at_once_while_redis_is_up() -> None:
    health, call = Health(), Calls()
    assert asyncio.run(health.recover(call))
    assert call.count == 0


def test_recover_brings_redis_back_with_one_info_once_its_call_succeeds(caplog: pytest.LogCaptureFixture) -> None:
    health = Health()

    async def go() -> list[object]:
        await health.attempt(Calls(OSError("unreachable")))
        still_down = await health.recover(Calls(RedisConnectionError("refused")))
        back = await health.recover(Calls())
        return [still_down, back, await health.attempt(Calls())]

    with caplog.at_level(logging.INFO, logger="keyproxy.state"):
        assert asyncio.run(go()) == [False, True, "answer"]
    assert health.up
    assert levels(caplog) == ["WARNING", "INFO"]
