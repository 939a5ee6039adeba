"""Whether Redis can be reached: the one place its errors mean "down", and the way back up."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Final, TypeVar

from redis.exceptions import RedisError

logger = logging.getLogger("keyproxy.state")

T = TypeVar("T")

OUTAGE = (RedisError, OSError)
"""Refused, reset, timed out (TimeoutError is an OSError), or refused by the server (read-only, OOM)."""


class Down(Enum):
    """The answer of a Redis call that was skipped or failed: the caller answers from its local store."""

    DOWN = "down"


DOWN: Final = Down.DOWN


class Health:
    """Up until a Redis call fails: then one WARNING, and every `attempt` answers DOWN at once, without
    waiting on Redis, until `recover` finds it again (one INFO)."""

    def __init__(self) -> None:
        self.up = True

    async def attempt(self, call: Callable[[], Awaitable[T]]) -> T | Down:
        """`call()`'s answer, or DOWN when Redis is down or the call finds it so."""
        if not self.up:
            return DOWN
        try:
            return await call()
        except OUTAGE as error:
            self.lost(error)
            return DOWN

    def lost(self, error: BaseException) -> None:
        """A call failed with one of OUTAGE: Redis is down. For a caller on the request path that catches
        OUTAGE itself rather than pay `attempt`'s extra coroutine."""
        # Calls in flight together fail together; the first one tells.
        if self.up:
            self.up = False
            logger.warning("Redis state store unreachable (%r); serving key state from this instance only", error)

    async def recover(self, call: Callable[[], Awaitable[object]]) -> bool:
        """Whether Redis is up; while it is down, whether `call` (reaching it, then catching it up) succeeds."""
        if self.up:
            return True
        try:
            await call()
        except OUTAGE:
            return False
        self.up = True
        logger.info("Redis state store reachable again; sharing key state with other instances")
        return True
