"""The Lua scripts that make each RedisStore update atomic: Redis runs a script without interleaving."""

from __future__ import annotations

from keyproxy.state.redis_wire import bulk, number

_MODES = {0: b"", 1: b"any", 3: b"check"}
"""SHARE's `take` by the number of slot names given."""
_READ, _UNREAD = bulk(b"1"), bulk(b"")

# Every reply is a string or nil: Redis would truncate a Lua number to an integer.

RECORD = """
local kind, ttl = ARGV[2], tonumber(ARGV[5])
local push = ARGV[8] == '1'
if kind == 'ok' then
  redis.call('DEL', KEYS[1], KEYS[3])
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 0
end
if not push then
  redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
if ttl <= 0 then return 0 end
local target = KEYS[3]
if kind == 'model' then target = KEYS[1] elseif kind ~= 'key' then return 0 end
if kind == 'model' or push then
  local current = tonumber(redis.call('HGET', target, 'until') or '0')
  if tonumber(ARGV[3]) < current then return 0 end
end
redis.call('HSET', target, 'until', ARGV[3], 'reason', ARGV[4])
redis.call('PEXPIRE', target, ttl)
if kind == 'model' then
  redis.call('SADD', KEYS[4], ARGV[1])
  if redis.call('PTTL', KEYS[4]) < ttl then redis.call('PEXPIRE', KEYS[4], ttl) end
end
redis.call('SADD', KEYS[5], ARGV[7])
if redis.call('PTTL', KEYS[5]) < ttl then redis.call('PEXPIRE', KEYS[5], ttl) end
return 1
"""
"""KEYS: cooldown, failures, bench, cooled models, held keys. ARGV: model, kind (ok, model, key, none),
until, reason, milliseconds until `until`, failure streak TTL in ms, key id, push (1: restoring state
after an outage, so no failure is counted and nothing is shortened)."""

SHARE = """
local take, n, cap, ms, model, now = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]) / 1e6
local read = ARGV[7] == '1' or take == ''
local first = 1
if take == 'any' then first = 2 elseif take == 'check' then first = 4 end
local last = first + 5 * n - 1
for i = last + 1, #KEYS do
  local left = tonumber(redis.call('GET', KEYS[i]) or '0') - tonumber(ARGV[7 + i - last])
  if left > 0 then redis.call('SET', KEYS[i], left, 'PX', ms) else redis.call('DEL', KEYS[i]) end
end
local out = {'0'}
if take ~= '' then
  local busy = tonumber(redis.call('GET', KEYS[1]) or '0')
  local free = cap == '' or busy < tonumber(cap)
  if free and take == 'check' then
    free = tonumber(redis.call('HGET', KEYS[2], 'until') or '0') <= now
      and tonumber(redis.call('HGET', KEYS[3], 'until') or '0') <= now
  end
  if free then
    redis.call('SET', KEYS[1], busy + 1, 'PX', ms)
    out[1] = '1'
  end
end
if out[1] == '1' and not read then return '1' end
for i = first, last, 5 do
  local room = redis.call('HMGET', KEYS[i + 4], 'fraction', 'reset')
  out[#out + 1] = redis.call('HGET', KEYS[i], 'until') or ''
  out[#out + 1] = redis.call('HGET', KEYS[i + 1], 'until') or ''
  out[#out + 1] = redis.call('GET', KEYS[i + 2]) or ''
  out[#out + 1] = redis.call('HGET', KEYS[i + 3], model) or ''
  out[#out + 1] = room[1] or ''
  out[#out + 1] = room[2] or ''
end
return table.concat(out, ',')
"""
"""Everything a request needs from Redis, in one round trip: this instance's pending slot releases, then
a slot on one key, then the statuses of the pool. KEYS: with `take` 'any', the key's in-flight counter;
with 'check', its in-flight counter, cooldown and bench (a key cooling or benched is refused too); then
per pool key its cooldown, bench, in-flight, failures and headroom keys; then the in-flight counters to
release. ARGV: take ('', 'any' or 'check'), pool size, cap ('' for none), slot TTL in ms, model, now in µs, read
('1': the pool's statuses even when the slot is taken), then per counter to release the slots it gives
back (the first five are the same for every request on a pool and key, so packed once). The reply is one
comma-separated string (cheap to parse): '1' when the slot was taken, then (when read, refused, or no slot
was asked for) per pool key its cooldown end, bench end, in flight, failures, headroom fraction and reset
('' for none)."""


class ShareCalls:
    """SHARE's calls packed: what is the same for every request on a pool and key (the script, its first
    five arguments) once, so a request packs its time stamp, the read flag and its releases only."""

    def __init__(self, sha: str, slot_ms: int) -> None:
        self._head = bulk(b"EVALSHA", sha.encode())
        self._slot_ms = slot_ms
        self._fixed: dict[tuple[int, int, int | None, str], bytes] = {}

    def pack(
        self, take: tuple[int, bytes], pool: bytes, n: int, released: list[bytes], counts: list[int],
        cap: int | None, model: str, now: float, read: bool,
    ) -> bytes:  # fmt: skip
        """`take`: how many slot names and them packed; `pool`: the names of `n` pool keys, packed;
        `released`: in-flight counters, packed, giving back `counts` slots."""
        named, names = take
        keys = named + 5 * n + len(released)
        fixed = self._fixed.get((named, n, cap, model))
        if fixed is None:
            if len(self._fixed) >= 4096:
                self._fixed.clear()  # buckets are model names clients send
            fixed = self._fixed[(named, n, cap, model)] = bulk(
                _MODES[named], b"%d" % n, b"" if cap is None else b"%d" % cap, b"%d" % self._slot_ms,
                model.encode(),
            )  # fmt: skip
        # In whole microseconds: the shortest repr of a float took ~8k instructions per request (callgrind).
        stamp = b"%d" % int(now * 1e6)
        return b"".join([
            b"*%d\r\n" % (10 + keys + len(counts)), self._head, number(keys), names, pool, *released, fixed,
            b"$%d\r\n%s\r\n" % (len(stamp), stamp), _READ if read else _UNREAD,
            *[number(count) for count in counts],
        ])  # fmt: skip


CLEAR = """
local lifted = 0
for i = 1, #KEYS, 3 do
  lifted = lifted + redis.call('DEL', KEYS[i])
  local models = redis.call('SMEMBERS', KEYS[i + 1])
  for _, model in ipairs(models) do
    if redis.call('DEL', ARGV[(i + 2) / 3] .. model) == 1 then
      lifted = lifted + 1
      redis.call('HDEL', KEYS[i + 2], model)
    end
  end
  redis.call('DEL', KEYS[i + 1])
end
return lifted
"""
"""KEYS: per key id, its bench, cooled models and failures keys; ARGV: per key id, the prefix of its
cooldown keys. Cooldown names are built in the script, so this script needs
one Redis server (not a cluster)."""

ADD_USAGE = """
for i = 7, #ARGV, 3 do
  if ARGV[i] == 'i' then
    redis.call('HINCRBY', KEYS[1], ARGV[i + 1], ARGV[i + 2])
  else
    redis.call('HINCRBYFLOAT', KEYS[1], ARGV[i + 1], ARGV[i + 2])
  end
end
local last = tonumber(redis.call('HGET', KEYS[1], 'last_used') or '0')
if tonumber(ARGV[5]) > last then redis.call('HSET', KEYS[1], 'last_used', ARGV[5]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[6])
redis.call('EXPIRE', KEYS[3], ARGV[1])
return 1
"""
"""KEYS: the row's hash, its day's set, the set of days. ARGV: TTL in seconds, row, day, day start,
last used, oldest day start kept, then (i|f, field, amount) triples to add."""
