"""Usage sums shared by every instance: attempt events buffered in memory, added to Redis hashes."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from keyproxy.events import AttemptEvent
from keyproxy.state import redis_scripts
from keyproxy.state.redis_keys import RedisKeys, parse_usage_row, usage_row
from keyproxy.usage.book import Price, UsageBook, UsageKey, UsageRows, merge, select
from keyproxy.usage.counters import FLAT_COUNTERS, Merge, UsageCounters

_DAY = 86400


class RedisUsage:
    """An EventSink: `emit` adds to a UsageBook in memory and never touches Redis; `flush` adds what is
    pending to one hash per day, provider, key and model, each row in one atomic script."""

    def __init__(self, redis: Redis, keys: RedisKeys, price: Price | None, retention_days: int) -> None:
        self._redis = redis
        self._keys = keys
        self._book = UsageBook(price)
        self._ttl = retention_days * _DAY
        self._add = redis.register_script(redis_scripts.ADD_USAGE)

    def emit(self, event: AttemptEvent) -> None:
        self._book.emit(event)

    def pending(self, provider: str | None, model: str | None, since: str | None, until: str | None) -> UsageRows:
        return select(self._book.pending().items(), provider, model, since, until)

    async def flush(self, now: float) -> None:
        """Raises when Redis cannot be reached, after putting the batch back for the next flush."""
        batch = self._book.drain()
        if not batch:
            return
        keys, oldest = self._keys, math.floor(now / _DAY) * _DAY - self._ttl
        try:
            # One MULTI: the rows are added all together or not at all, so a retry never counts twice
            # (unless the connection drops after EXEC and before its answer).
            async with self._redis.pipeline(transaction=True) as pipe:
                for key, counters in batch.items():
                    row = usage_row(key.provider, key.key_id, key.model)
                    day_start = datetime.strptime(key.day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
                    await self._add(
                        keys=[keys.usage(key.day, row), keys.usage_day(key.day), keys.usage_days()],
                        args=[self._ttl, row, key.day, day_start, repr(counters.last_used), oldest,
                              *_increments(counters)],
                        client=pipe,
                    )  # fmt: skip
                await pipe.execute()
        except BaseException:
            self._book.restore(batch)
            raise

    async def query(self, provider: str | None, model: str | None, since: str | None, until: str | None) -> UsageRows:
        """The sums in Redis plus what this instance has not flushed yet; three round trips."""
        keys = self._keys
        days = [
            day for day in map(str, await self._redis.zrange(keys.usage_days(), 0, -1))
            if (since is None or day >= since) and (until is None or day <= until)
        ]  # fmt: skip
        async with self._redis.pipeline(transaction=False) as pipe:
            for day in days:
                pipe.smembers(keys.usage_day(day))
            members: list[set[str]] = await pipe.execute()
        wanted: list[UsageKey] = []
        for day, rows in zip(days, members, strict=True):
            for row in sorted(rows):
                row_provider, key_id, row_model = parse_usage_row(row)
                if provider in (None, row_provider) and model in (None, row_model):
                    wanted.append(UsageKey(day, row_provider, key_id, row_model))
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in wanted:
                pipe.hgetall(keys.usage(key.day, usage_row(key.provider, key.key_id, key.model)))
            found: list[dict[str, str]] = await pipe.execute()
        stored = [(key, UsageCounters.from_flat(fields)) for key, fields in zip(wanted, found, strict=True) if fields]
        return merge(stored, self.pending(provider, model, since, until))


def _increments(counters: UsageCounters) -> list[Any]:
    """The (i|f, field, amount) triples of the summed counts that are not 0. The script keeps `last_used`,
    the one latest value, itself: HINCRBY cannot take a max."""
    args: list[Any] = []
    flat = counters.flat()
    for counter in FLAT_COUNTERS:
        value = flat[counter.name]
        if value and counter.merge is Merge.SUM:
            args += ["i", counter.name, value] if counter.kind is int else ["f", counter.name, repr(value)]
    return args
