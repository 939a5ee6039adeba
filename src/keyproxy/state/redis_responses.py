"""Stored Responses-API records shared through Redis, and kept by this instance's own store while Redis is
down: what was stored or deleted meanwhile is replayed once it is back."""

from __future__ import annotations

import math

from redis.asyncio import Redis

from keyproxy.state.base import StateStore
from keyproxy.state.redis_health import DOWN, Health
from keyproxy.state.redis_keys import RedisKeys


class SharedResponses:
    def __init__(self, redis: Redis, keys: RedisKeys, health: Health, local: StateStore, ttl: float) -> None:
        self._redis = redis
        self._keys = keys
        self._health = health
        self._local = local
        self._ttl_ms = int(ttl * 1000)
        self._unshared: dict[str, bool] = {}
        """Responses stored (True) or deleted (False) here while Redis was down."""

    async def put(self, response_id: str, record: bytes, now: float, expires_at: float) -> None:
        await self._local.put_response(response_id, record, now, expires_at)
        ttl = math.ceil((expires_at - now) * 1000)
        if ttl <= 0:
            return
        name, text = self._keys.response(response_id), record.decode()
        if await self._health.attempt(lambda: self._redis.set(name, text, px=ttl)) is DOWN:
            self._unshared[response_id] = True

    async def get(self, response_id: str, now: float) -> bytes | None:
        found = await self._health.attempt(lambda: self._redis.get(self._keys.response(response_id)))
        if found is DOWN or (found is None and response_id in self._unshared):
            # Down, or back but this change not replayed yet: this instance's own store knows better.
            return await self._local.get_response(response_id, now)
        return None if found is None else str(found).encode()

    async def delete(self, response_id: str, now: float) -> bool:
        mine = await self._local.delete_response(response_id, now)
        shared = await self._health.attempt(lambda: self._redis.delete(self._keys.response(response_id)))
        if shared is DOWN:
            self._unshared[response_id] = False
            return mine
        return bool(shared)

    async def replay(self, now: float) -> None:
        """Put the responses stored during the outage in Redis, and delete the ones deleted meanwhile."""
        for response_id, stored in list(self._unshared.items()):
            record = await self._local.get_response(response_id, now) if stored else None
            if record is None:
                await self._redis.delete(self._keys.response(response_id))
            else:
                # The local store does not say when it expires; the full retention again is the safe side.
                await self._redis.set(self._keys.response(response_id), record.decode(), px=self._ttl_ms)
            # Only what was replayed: a failure leaves the rest for the next recovery.
            del self._unshared[response_id]
