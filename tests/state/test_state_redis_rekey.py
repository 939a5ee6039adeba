"""Shared state Redis holds under unkeyed key ids, moved to the keyed ones by the first instance to start."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import msgspec
import redis

from keyproxy.api.stored_responses import Stored, rekeyed
from keyproxy.redact import unkeyed_fingerprint
from keyproxy.state import MemoryStore
from keyproxy.state.fingerprints import Rekey, key_renames
from keyproxy.state.redis_keys import RedisKeys
from keyproxy.state.redis_store import RedisStore
from keyproxy.usage.book import UsageKey
from state.state_support import BENCH, COOL, DEFAULTS, NOW, HeldClock, event
from support import IDS, REDIS_URL, needs_redis

pytestmark = needs_redis

A, B, GONE = "sk-first-key-0000000000000000001", "sk-second-key-000000000000000002", "sk-gone-key-0000000000000003"
OLD_A, OLD_B, OLD_GONE = (unkeyed_fingerprint(key) for key in (A, B, GONE))
RENAMES = key_renames([("p", A), ("p", B)], IDS)
MOVES = Rekey(RENAMES, partial(rekeyed, renames=RENAMES))
DAY = "2023-11-14"


async def started(prefix: str, **options: Any) -> RedisStore:
    settings = {"interval": DEFAULTS.flush_interval, "retention_days": DEFAULTS.retention_days, **options}
    store = RedisStore(REDIS_URL, MemoryStore(), prefix=prefix, **settings)
    await store.start(HeldClock())
    return store


async def old_state(prefix: str) -> None:
    """State as the keyproxy before keyed fingerprints left it in Redis: under unkeyed ids, with no mark."""
    old = await started(prefix)
    await old.record("p", OLD_A, "m", COOL)
    await old.record("p", OLD_A, "m2", COOL)
    await old.record("p", OLD_B, "m", BENCH)
    await old.set_sticky("p", "m", OLD_A)
    await old.set_affinity("p", "conversation-1", OLD_B, NOW + 3600)
    await old.put_response("resp_native", msgspec.json.encode(Stored("p", "m", key_id=OLD_B)), NOW, NOW + 3600)
    for key_id, model in ((OLD_A, "m"), (OLD_A, "n"), (IDS(A), "m"), (OLD_GONE, "m")):
        old.emit(event(key_id=key_id, model=model))
    await old.stop()
    client = redis.Redis.from_url(REDIS_URL)
    client.delete(RedisKeys(prefix).fingerprint_scheme())
    client.close()


def test_cooldowns_benches_sticky_keys_conversations_and_kept_responses_are_found_under_the_keyed_ids(
    redis_prefix: str,
) -> None:
    async def go() -> list[Any]:
        await old_state(redis_prefix)
        new = await started(redis_prefix, rekey=MOVES)
        seen = [
            await new.statuses("p", [IDS(A), IDS(B)], "m"),
            [cooldown.model for cooldown in (await new.report("p", [IDS(A)], NOW))[0].cooldowns],
            await new.sticky("p", "m"),
            await new.affinity("p", "conversation-1", NOW),
            await new.clear("p"),
            msgspec.json.decode(await new.get_response("resp_native", NOW) or b"null", type=Stored | None),
        ]
        await new.stop()
        return seen

    (first, second), cooled, sticky, affinity, lifted, kept = asyncio.run(go())
    assert (first.cooldown_until, first.failures, second.benched_until) == (NOW + 60, 1, NOW + 600)
    assert sorted(cooled) == ["m", "m2"]
    assert (sticky, affinity, kept) == (IDS(A), IDS(B), Stored("p", "m", key_id=IDS(B)))
    assert lifted == 3  # both cooldowns and the bench: the provider's set of keys names the new ids
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    left = [name for name in client.scan_iter(match=redis_prefix + "*") if OLD_A in name or OLD_B in name]
    client.close()
    assert left == []


def test_usage_rows_move_and_add_up_with_rows_already_under_the_keyed_id(redis_prefix: str) -> None:
    async def go() -> dict[UsageKey, int]:
        await old_state(redis_prefix)
        new = await started(redis_prefix, rekey=MOVES)
        rows = await new.usage()
        await new.stop()
        return {key: counters.requests for key, counters in rows}

    assert asyncio.run(go()) == {
        UsageKey(DAY, "p", IDS(A), "m"): 2,
        UsageKey(DAY, "p", IDS(A), "n"): 1,
        UsageKey(DAY, "p", OLD_GONE, "m"): 1,  # a key no longer configured keeps its old id
    }


def test_nothing_moves_while_another_instance_holds_the_move(redis_prefix: str) -> None:
    async def go() -> str | None:
        await old_state(redis_prefix)
        client = redis.Redis.from_url(REDIS_URL)
        client.set(RedisKeys(redis_prefix).rekey_lock(), "another instance", px=60_000)
        client.close()
        new = await started(redis_prefix, rekey=MOVES)
        sticky = await new.sticky("p", "m")
        await new.stop()
        return sticky

    assert asyncio.run(go()) == OLD_A


def test_state_is_moved_once(redis_prefix: str) -> None:
    async def go() -> str | None:
        await old_state(redis_prefix)
        await (await started(redis_prefix, rekey=MOVES)).stop()
        # Written under an unkeyed id after the move (nothing does so): a second start leaves it where it is.
        writer = await started(redis_prefix)
        await writer.set_sticky("p", "m", OLD_A)
        await writer.stop()
        again = await started(redis_prefix, rekey=MOVES)
        sticky = await again.sticky("p", "m")
        await again.stop()
        return sticky

    assert asyncio.run(go()) == OLD_A
