"""The admin reads and writes of RedisStore: a key's full report, and lifting cooldowns and benches."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from keyproxy.errors import ErrorClass
from keyproxy.state.base import Cooldown, KeyReport
from keyproxy.state.redis_keys import RedisKeys


def parse_float(value: str | None) -> float:
    return float(value) if value else 0.0


async def shared_report(
    redis: Redis, keys: RedisKeys, provider: str, mine: list[KeyReport], now: float
) -> list[KeyReport]:
    """`mine` (from local) with benches, cooldowns and in-flight counts from Redis; two round trips."""
    async with redis.pipeline(transaction=False) as pipe:
        for local in mine:
            pipe.hmget(keys.bench(provider, local.key_id), ["until", "reason"])
            pipe.get(keys.in_flight(provider, local.key_id))
            pipe.smembers(keys.cooled_models(provider, local.key_id))
        found = await pipe.execute()
    models = [sorted(found[i + 2]) for i in range(0, len(found), 3)]
    async with redis.pipeline(transaction=False) as pipe:
        for local, names in zip(mine, models, strict=True):
            for model in names:
                pipe.hmget(keys.cooldown(provider, local.key_id, model), ["until", "reason"])
        cooled = iter(await pipe.execute())
    reports = []
    for n, local in enumerate(mine):
        (bench_until, bench_reason), busy = found[3 * n], found[3 * n + 1]
        cooldowns = []
        for model in models[n]:
            until, reason = next(cooled)
            if reason and parse_float(until) > now:
                cooldowns.append(Cooldown(model, parse_float(until), ErrorClass(reason)))
        benched = parse_float(bench_until) if parse_float(bench_until) > now else 0.0
        reason_now = ErrorClass(bench_reason) if benched and bench_reason else None
        reports.append(
            KeyReport(local.key_id, benched, reason_now, tuple(cooldowns), int(busy or 0), local.usage, local.last_used)
        )
    return reports


async def shared_clear(redis: Redis, keys: RedisKeys, script: AsyncScript, provider: str, key_id: str | None) -> int:
    """Lift in one script; with no key id, every key of the provider that had a cooldown or a bench."""
    if key_id is not None:
        key_ids = [key_id]
    else:
        key_ids = sorted(str(one) for one in await redis.smembers(keys.held_keys(provider)))
    names = []
    for one in key_ids:
        names += [keys.bench(provider, one), keys.cooled_models(provider, one), keys.failures(provider, one)]
    lifted = await script(keys=names, args=[keys.cooldown(provider, one, "") for one in key_ids])
    return int(lifted)
