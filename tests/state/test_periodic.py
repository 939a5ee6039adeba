"""A store's background work: run every interval, stopped only between two runs."""

from __future__ import annotations

import asyncio

from keyproxy.state.periodic import Periodic
from keyproxy.testing import FakeClock


def test_stop_lets_the_run_under_way_end_and_never_cancels_it() -> None:
    async def go() -> tuple[list[str], float]:
        clock = FakeClock(0.0)
        seen: list[str] = []
        running, finish = asyncio.Event(), asyncio.Event()

        async def work() -> None:
            running.set()
            try:
                await finish.wait()
            except asyncio.CancelledError:
                # Lost, as asyncio.wait_for can lose one on Python 3.11 (python/cpython#86296).
                seen.append("cancelled")
            seen.append("ran")

        periodic = Periodic(work, 2.0, "test-periodic")
        periodic.start(clock)
        await running.wait()
        stopping = asyncio.create_task(periodic.stop())
        await asyncio.sleep(0)
        finish.set()
        await asyncio.wait_for(stopping, 5)
        return seen, clock.now()

    assert asyncio.run(go()) == (["ran"], 4.0)


def test_runs_come_one_interval_apart() -> None:
    async def go() -> list[float]:
        clock = FakeClock(10.0)
        at: list[float] = []
        three = asyncio.Event()

        async def work() -> None:
            at.append(clock.now())
            if len(at) == 3:
                three.set()

        periodic = Periodic(work, 5.0, "test-periodic")
        periodic.start(clock)
        await three.wait()
        await periodic.stop()
        return at[:3]

    assert asyncio.run(go()) == [15.0, 20.0, 25.0]
