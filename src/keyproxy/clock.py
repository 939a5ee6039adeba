"""Time as a dependency: policies take a Clock so tests drive them with a fake one and never sleep."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch. Wall time, because cooldowns outlive the process."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait; a fake clock moves itself forward instead."""
        ...


class SystemClock:
    __slots__ = ()

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
