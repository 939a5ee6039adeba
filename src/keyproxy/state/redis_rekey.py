"""Shared key state and usage in Redis moved from unkeyed key ids to keyed ones, once, by one instance.

In-flight counts and headroom are not moved: both last seconds, and a count moved from under an old
instance still running would never be released.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence

from redis.asyncio import Redis

from keyproxy.state.fingerprints import SCHEME, Rekey, Renames
from keyproxy.state.redis_keys import RedisKeys, parse_usage_row, usage_row
from keyproxy.usage.counters import FLAT_COUNTERS, Merge

_LOCK_MS = 60_000
"""Held while moving; an instance that dies meanwhile leaves it to the next start after this."""

_MOVE_KEY = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('RENAME', KEYS[1], KEYS[2])
return 1
"""
"""KEYS: old name, new name. What was written under the new name meanwhile is newer, so it wins."""

_MOVE_VALUE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
"""
"""KEYS: a sticky or affinity entry. ARGV: old key id, new key id."""

_MOVE_MEMBER = """
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SADD', KEYS[1], ARGV[2])
return 1
"""
"""KEYS: a set of key ids. ARGV: old key id, new key id."""

_MOVE_ROW = """
local fields = redis.call('HGETALL', KEYS[1])
local how = {}
for i = 3, #ARGV, 2 do how[ARGV[i]] = ARGV[i + 1] end
for i = 1, #fields, 2 do
  local name, value = fields[i], fields[i + 1]
  if how[name] == 'latest' then
    if tonumber(value) > tonumber(redis.call('HGET', KEYS[2], name) or '0') then
      redis.call('HSET', KEYS[2], name, value)
    end
  elseif how[name] == 'i' then
    redis.call('HINCRBY', KEYS[2], name, value)
  else
    redis.call('HINCRBYFLOAT', KEYS[2], name, value)
  end
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 and redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[3], ARGV[1])
if #fields > 0 then redis.call('SADD', KEYS[3], ARGV[2]) end
return 1
"""
"""KEYS: old row's hash, new row's hash, the day's set of rows. ARGV: old row, new row, then (field, how)
pairs: 'i' or 'f' adds, 'latest' keeps the larger. The rows add up, as two instances' flushes would."""

_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_HOW = [
    item
    for counter in FLAT_COUNTERS
    for item in (counter.name, "latest" if counter.merge is Merge.LATEST else "i" if counter.kind is int else "f")
]


async def rekey(redis: Redis, keys: RedisKeys, moves: Rekey) -> int | None:
    """Move every renamed key's state and usage to its new id unless Redis's ids are keyed already; how
    many entries moved, or None when another instance holds the move."""
    if await redis.exists(keys.fingerprint_scheme()):
        return 0
    token = secrets.token_hex(8)
    if not await redis.set(keys.rekey_lock(), token, nx=True, px=_LOCK_MS):
        return None
    try:
        moved = await _move(redis, keys, moves.renames)
        if moves.renames:
            moved += await _move_responses(redis, keys, moves)
        await redis.set(keys.fingerprint_scheme(), SCHEME)
    finally:
        await redis.eval(_UNLOCK, 1, keys.rekey_lock(), token)
    return moved


async def _move(redis: Redis, keys: RedisKeys, renames: Renames) -> int:
    move_key, move_value = redis.register_script(_MOVE_KEY), redis.register_script(_MOVE_VALUE)
    move_member = redis.register_script(_MOVE_MEMBER)
    moved = 0
    for (provider, old), new in renames.items():
        models: Sequence[str] = sorted(map(str, await redis.smembers(keys.cooled_models(provider, old))))
        names = [(keys.cooldown(provider, old, model), keys.cooldown(provider, new, model)) for model in models]
        names += [(method(provider, old), method(provider, new))
                  for method in (keys.cooled_models, keys.failures, keys.bench)]  # fmt: skip
        for before, after in names:
            moved += await move_key(keys=[before, after])
        moved += await move_member(keys=[keys.held_keys(provider)], args=[old, new])
    by_provider: dict[str, dict[str, str]] = {}
    for (provider, old), new in renames.items():
        by_provider.setdefault(provider, {})[old] = new
    for provider, ids in by_provider.items():
        for pattern in (keys.sticky(provider, "*"), keys.affinity(provider, "*")):
            async for name in redis.scan_iter(match=_glob(pattern), count=1000):
                value = await redis.get(name)
                if value in ids:
                    moved += await move_value(keys=[name], args=[value, ids[value]])
    return moved + await _move_usage(redis, keys, renames)


async def _move_usage(redis: Redis, keys: RedisKeys, renames: Renames) -> int:
    move_row = redis.register_script(_MOVE_ROW)
    moved = 0
    for day in map(str, await redis.zrange(keys.usage_days(), 0, -1)):
        for row in sorted(map(str, await redis.smembers(keys.usage_day(day)))):
            provider, key_id, model = parse_usage_row(row)
            new = renames.get((provider, key_id))
            if new is None:
                continue
            target = usage_row(provider, new, model)
            moved += await move_row(
                keys=[keys.usage(day, row), keys.usage(day, target), keys.usage_day(day)], args=[row, target, *_HOW]
            )
    return moved


async def _move_responses(redis: Redis, keys: RedisKeys, moves: Rekey) -> int:
    moved = 0
    async for name in redis.scan_iter(match=_glob(keys.response("*")), count=1000):
        record = await redis.get(name)
        rewritten = None if record is None else moves.record(str(record).encode())
        if rewritten is not None:
            # XX: a response deleted meanwhile stays deleted.
            moved += bool(await redis.set(name, rewritten.decode(), keepttl=True, xx=True))
    return moved


def _glob(pattern: str) -> str:
    """`pattern`'s final `*` as a wildcard, every other glob character taken literally."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", pattern[:-1]) + "*"
