"""Usage sums in Redis: every declared counter is added to a row's hash and read back."""

from __future__ import annotations

import asyncio

import pytest
import redis
from redis.asyncio import Redis

from keyproxy.state.redis_keys import RedisKeys, usage_row
from keyproxy.state.redis_usage import RedisUsage
from keyproxy.usage.book import UsageKey, UsageRows
from keyproxy.usage.counters import FLAT_COUNTERS, UsageCounters
from support import REDIS_URL, needs_redis
from usage.usage_support import every_counter_set

URL = REDIS_URL
NOW = 1_700_000_000.0  # 2023-11-14
KEY = UsageKey("2023-11-14", "p", "k", "m")

pytestmark = needs_redis


@pytest.fixture
def keys(redis_prefix: str) -> RedisKeys:
    return RedisKeys(redis_prefix)


def flushed(keys: RedisKeys, *batches: UsageCounters) -> UsageRows:
    """What a query answers after each batch was flushed on its own."""

    async def go() -> UsageRows:
        client = Redis.from_url(URL, decode_responses=True)
        usage = RedisUsage(client, keys, None, retention_days=90)
        for counters in batches:
            # Events cannot set every counter to its own value; a batch put back in the book can.
            usage._book.restore({KEY: counters})
            await usage.flush(NOW)
        rows = await usage.query(None, None, None, None)
        await client.aclose()
        return rows

    return asyncio.run(go())


def test_every_declared_counter_survives_a_round_trip(keys: RedisKeys) -> None:
    counters = every_counter_set()
    assert flushed(keys, counters) == [(KEY, counters)]


def test_a_second_flush_merges_every_counter_as_adding_in_memory_does(keys: RedisKeys) -> None:
    counters = every_counter_set()
    expected = counters.copy()
    expected.add(counters)
    assert flushed(keys, counters, counters) == [(KEY, expected)]


def test_a_row_hash_has_one_field_per_counter_named_as_its_sqlite_column(keys: RedisKeys) -> None:
    flushed(keys, every_counter_set())
    client = redis.Redis.from_url(URL, decode_responses=True)
    fields = client.hkeys(keys.usage(KEY.day, usage_row(KEY.provider, KEY.key_id, KEY.model)))
    client.close()
    assert set(fields) == {counter.name for counter in FLAT_COUNTERS}

