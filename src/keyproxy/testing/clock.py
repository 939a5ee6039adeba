"""A clock that moves only when told to, so cooldown and retry policies are tested without sleeping."""

from __future__ import annotations

import asyncio


class FakeClock:
    """Satisfies keyproxy.clock.Clock; starts at a fixed wall time so results are reproducible."""

    __slots__ = ("_now",)

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock cannot go back in time")
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        """Move time forward at once, then let other tasks run."""
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)
