"""The fingerprint secret every instance sharing a Redis uses, agreed on through one Redis key."""

from __future__ import annotations

import redis
from redis.exceptions import RedisError

from keyproxy.state.fingerprint_secret import parse_secret
from keyproxy.state.redis_keys import RedisKeys


def shared_secret(url: str, keys: RedisKeys, proposed: bytes, timeout: float = 2.0) -> bytes | None:
    """The secret in Redis, `proposed` when none is there yet (the first instance's wins); None when Redis
    cannot be reached. Synchronous: it runs once, before the pools are built and anything is served."""
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True)
    name = keys.fingerprint_secret()
    try:
        with client.pipeline(transaction=True) as pipe:
            pipe.set(name, proposed.hex(), nx=True)
            pipe.get(name)
            _, found = pipe.execute()
    except (RedisError, OSError):
        return None
    finally:
        client.close()
    return parse_secret(f"Redis key {name}", str(found))
