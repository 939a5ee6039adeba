"""Fair cycles shared through Redis: written when a key is marked or a cycle resets (rare: a long cooldown), read
by the flush loop into a local view that requests choose on, so a request never waits on Redis for them.

One hash per cycle: field "" holds the cycle's start, every other field is an exhausted key id with when it was
marked. The hash expires when the cycle does (its start plus its duration, by the instance's clock), since its
marks no longer hold a key out after that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from keyproxy.state.base import NO_MARKS, CycleMarks
from keyproxy.state.memory import SCOPED_LIMIT
from keyproxy.state.redis_keys import RedisKeys

EXHAUST = """
local now, duration = tonumber(ARGV[2]), tonumber(ARGV[3])
local start = tonumber(redis.call('HGET', KEYS[1], '') or '0')
if redis.call('HLEN', KEYS[1]) <= 1 or now >= start + duration then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], '', ARGV[2])
  start = now
end
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], math.max(1, math.floor((start + duration - now) * 1000)))
return '1'
"""
"""KEYS: the cycle's hash. ARGV: key id, now, the cycle's duration in seconds."""

RESET = """
for i = 1, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
if redis.call('HLEN', KEYS[1]) <= 1 then redis.call('DEL', KEYS[1]) end
return '1'
"""
"""KEYS: the cycle's hash. ARGV: the key ids whose marks go; the cycle ends with its last mark."""


@dataclass(frozen=True, slots=True)
class Marked:
    provider: str
    tracking: str
    key_id: str
    at: float
    duration: float


@dataclass(frozen=True, slots=True)
class Unmarked:
    provider: str
    tracking: str
    key_ids: tuple[str, ...]


_GLOB = frozenset("*?[]\\")

KEPT_ROUNDS = 60
"""Refresh rounds (flush intervals, 1 s by default) a cycle nobody asks about stays in the view."""


def parse(fields: Mapping[bytes | str, bytes | str]) -> CycleMarks:
    """A cycle's hash as HGETALL answers it (decoded)."""
    exhausted = {str(key_id): float(at) for key_id, at in fields.items() if key_id}
    return CycleMarks(float(fields.get("", "0")), exhausted) if exhausted else NO_MARKS


class SharedCycles:
    """What this instance last read of each fair cycle it was asked about, and the writes that change them."""

    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self._redis = redis
        self._keys = keys
        self._exhaust = redis.register_script(EXHAUST)
        self._reset = redis.register_script(RESET)
        self._views: dict[tuple[str, str], CycleMarks] = {}
        self._asked: dict[tuple[str, str], int] = {}
        """The refresh round in which each cycle was last asked about."""
        self._round = 0
        self._unshared: list[Marked | Unmarked] = []
        """Marks and resets made while Redis was down, in order: replayed when it is back."""

    def known(self, provider: str, tracking: str) -> CycleMarks | None:
        found = self._views.get((provider, tracking))
        if found is not None:
            self._asked[(provider, tracking)] = self._round
        return found

    def trackings(self, provider: str) -> list[str]:
        return [tracking for (p, tracking) in self._views if p == provider]

    async def read(self, provider: str, tracking: str) -> CycleMarks:
        """Ask Redis once (the first request on a cycle); from then on the flush loop keeps the view fresh."""
        marks = parse(await self._redis.hgetall(self._keys.fair_cycle(provider, tracking)))
        self._remember(provider, tracking, marks)
        return marks

    async def refresh(self) -> None:
        """Every cycle asked about in the last `KEPT_ROUNDS` rounds read again, in one round trip; the others are
        forgotten (the next request on one asks Redis once), so model names a client invents cost nothing here."""
        self._round += 1
        oldest = self._round - KEPT_ROUNDS
        for gone in [cycle for cycle, asked in self._asked.items() if asked < oldest]:
            del self._asked[gone]
            self._views.pop(gone, None)
        if not self._views:
            return
        known = list(self._views)
        async with self._redis.pipeline(transaction=False) as pipe:
            for provider, tracking in known:
                pipe.hgetall(self._keys.fair_cycle(provider, tracking))
            answers = await pipe.execute()
        for (provider, tracking), fields in zip(known, answers, strict=True):
            self._views[(provider, tracking)] = parse(fields)

    async def every(self, provider: str) -> dict[str, CycleMarks]:
        """Every cycle of the provider in Redis, whichever instance marked it: a scan, for status only."""
        head = self._keys.fair_cycle(provider, "")
        names = [str(name) async for name in self._redis.scan_iter(match=_pattern(head))]
        if not names:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(name)
            answers = await pipe.execute()
        found = {name[len(head) :]: parse(fields) for name, fields in zip(names, answers, strict=True)}
        return {tracking: marks for tracking, marks in found.items() if marks.exhausted}

    async def exhaust(self, provider: str, tracking: str, key_id: str, now: float, duration: float) -> None:
        name = self._keys.fair_cycle(provider, tracking)
        await self._exhaust(keys=[name], args=[key_id, repr(now), repr(duration)])
        await self.read(provider, tracking)

    async def reset(self, provider: str, tracking: str, key_ids: Sequence[str]) -> None:
        if not key_ids:
            return
        await self._reset(keys=[self._keys.fair_cycle(provider, tracking)], args=list(key_ids))
        await self.read(provider, tracking)

    def unshared(self, change: Marked | Unmarked) -> None:
        """A mark or a reset made while Redis was down."""
        if len(self._unshared) < SCOPED_LIMIT:
            self._unshared.append(change)

    async def replay(self) -> None:
        """Redis is back: apply what changed meanwhile, in order (a mark keeps the time it was made at)."""
        while self._unshared:
            change = self._unshared[0]
            if isinstance(change, Marked):
                await self.exhaust(change.provider, change.tracking, change.key_id, change.at, change.duration)
            else:
                await self.reset(change.provider, change.tracking, change.key_ids)
            # Only what was replayed goes: a failure leaves the rest for the next recovery.
            del self._unshared[0]

    async def clear(self, provider: str, key_id: str | None) -> None:
        """An operator's clear: the key's marks (every key's, with None) in every cycle of the provider."""
        head = self._keys.fair_cycle(provider, "")
        async for name in self._redis.scan_iter(match=_pattern(head)):
            tracking = str(name)[len(head) :]
            if key_id is None:
                await self._redis.delete(name)
                self._views.pop((provider, tracking), None)
            else:
                await self.reset(provider, tracking, [key_id])

    def _remember(self, provider: str, tracking: str, marks: CycleMarks) -> None:
        views = self._views
        if (provider, tracking) not in views and len(views) >= SCOPED_LIMIT:
            oldest = next(iter(views))
            del views[oldest]
            self._asked.pop(oldest, None)
        views[(provider, tracking)] = marks
        self._asked[(provider, tracking)] = self._round


def _pattern(head: str) -> str:
    """A SCAN pattern for every name that starts with `head`, taken literally."""
    return "".join(f"\\{char}" if char in _GLOB else char for char in head) + "*"
