"""Writes to Redis that need not hold up a request: gathered here, sent together in one pipeline."""

from __future__ import annotations

import asyncio

from keyproxy.state.redis_health import Health
from keyproxy.state.redis_link import Link
from keyproxy.state.redis_wire import bulk, command, number, pack


class Outbox:
    """Slot releases, counted per in-flight counter (they commute: any later round trip may carry them,
    see `take_releases`), and other writes (successes, headroom) kept in the order they were made. What
    is put in is sent `delay` seconds later with whatever else came meanwhile. While Redis is down
    nothing is kept: released slots expire by their TTL, and the store pushes failures back itself."""

    def __init__(self, link: Link, health: Health, release_sha: str, slot_ms: int, delay: float) -> None:
        self._link = link
        self._health = health
        self._release_sha, self._slot_ms = release_sha, slot_ms
        self._delay = delay
        self._releases: dict[bytes, int] = {}
        """Per in-flight counter (its name packed), the slots it gives back."""
        self._writes: list[bytes] = []
        """Commands packed, in order."""
        self._sending = asyncio.Lock()
        """One batch at a time, so writes reach Redis in the order they were made."""
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def release(self, counter: bytes) -> None:
        if self._health.up:
            self._releases[counter] = self._releases.get(counter, 0) + 1
            self._soon()

    def write(self, *command: str | int | bytes) -> None:
        if self._health.up:
            self._writes.append(pack(*command))
            self._soon()

    def take_releases(self) -> tuple[list[bytes], list[int]]:
        """The counters and how many slots each gives back, for a script about to run: now off the outbox."""
        releases = self._releases
        if not releases:
            return [], []
        self._releases = {}
        return list(releases), list(releases.values())

    async def send(self) -> None:
        """Everything waiting, in one pipeline; returns once what an earlier `send` took has been sent too."""
        async with self._sending:
            released, counts = self.take_releases()
            writes, self._writes = self._writes, []
            if (released or writes) and self._health.up:
                await self._health.attempt(lambda: self._pipeline(released, counts, writes))

    async def close(self) -> None:
        """Stop the timer and wait for batches under way; what waits still is for a last `send`."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._tasks:
            await asyncio.wait(self._tasks)

    def _soon(self) -> None:
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._delay, self._start)

    def _start(self) -> None:
        self._timer = None
        if not (self._releases or self._writes):
            return  # a request's script carried the releases meanwhile
        task = asyncio.get_running_loop().create_task(self.send(), name="keyproxy-redis-outbox")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _pipeline(self, released: list[bytes], counts: list[int], writes: list[bytes]) -> None:
        if released:
            # The SHARE script with no slot to take and no pool to read: releases only.
            releases = command(
                10 + 2 * len(released), bulk(b"EVALSHA", self._release_sha.encode()), number(len(released)), *released,
                bulk(b"", b"0", b"", b"%d" % self._slot_ms, b"", b"0", b""), *[number(count) for count in counts],
            )  # fmt: skip
            writes = [releases, *writes]
        await self._link.batch(writes)
