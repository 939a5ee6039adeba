"""A store's background work, run every so often in a task of its own and stopped only between two runs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from keyproxy.clock import Clock


class Periodic:
    """`work` every `interval` seconds of `clock`, from `start` until `stop`.

    `stop` cancels the task between two runs, never inside one: a run is never abandoned half done (a batch
    half written), and a cancel that lands inside one can be lost on Python 3.11, whose asyncio.wait_for
    (redis-py waits with it) drops a cancel arriving as the call it waits on completes
    (python/cpython#86296); the task would then run on and `stop` wait for ever."""

    __slots__ = ("_interval", "_name", "_running", "_task", "_work")

    def __init__(self, work: Callable[[], Awaitable[None]], interval: float, name: str) -> None:
        self._work = work
        self._interval = interval
        self._name = name
        self._running = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def start(self, clock: Clock) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(clock), name=self._name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            async with self._running:
                task.cancel()
            await asyncio.wait({task})

    async def _loop(self, clock: Clock) -> None:
        while True:
            await clock.sleep(self._interval)
            async with self._running:
                await self._work()
