"""The model list: gathered from every provider's own list, cached with expiry, filtered.

A provider that cannot be listed contributes nothing for a short while; it never breaks the list.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from keyproxy.clock import Clock
from keyproxy.config.filters import model_allowed
from keyproxy.config.settings import Timeouts
from keyproxy.engine.pool import Pool
from keyproxy.errors import UpstreamError
from keyproxy.redact import scrub
from keyproxy.transport.base import RequestTimeouts, Transport

logger = logging.getLogger("keyproxy.models")

_LIST_TIMEOUT = 10.0
_RETRY_FAILED_AFTER = 60.0
_KEYS_TRIED = 3


@dataclass(frozen=True, slots=True)
class _Entry:
    models: tuple[str, ...]
    expires: float


class ModelList:
    def __init__(
        self, pools: Mapping[str, Pool], transport: Transport, clock: Clock, timeouts: Timeouts, ttl: float
    ) -> None:
        self.pools = pools
        self.transport = transport
        self.clock = clock
        self.ttl = ttl
        limit = min(_LIST_TIMEOUT, timeouts.total)
        self.timeouts = RequestTimeouts(connect=limit, pool=limit, read=limit)
        self._cache: dict[str, _Entry] = {}
        self._refreshing: dict[str, asyncio.Task[_Entry]] = {}

    async def ids(self) -> list[str]:
        """Every offered model as `provider/model`, in provider order."""
        lists = await asyncio.gather(*(self.provider_models(name) for name in self.pools))
        return [f"{name}/{model}" for name, models in zip(self.pools, lists, strict=True) for model in models]

    async def provider_models(self, name: str) -> tuple[str, ...]:
        entry = self._cache.get(name)
        if entry is None or entry.expires <= self.clock.now():
            task = self._refreshing.get(name)
            if task is None:
                # One refresh per provider at a time; concurrent callers share it.
                task = asyncio.ensure_future(self._fetch(name))
                self._refreshing[name] = task
                task.add_done_callback(lambda _: self._refreshing.pop(name, None))
            entry = await asyncio.shield(task)
            self._cache[name] = entry
        return entry.models

    async def _fetch(self, name: str) -> _Entry:
        pool = self.pools[name]
        settings = pool.settings
        for index in range(min(_KEYS_TRIED, len(pool.secrets))):
            request = pool.adapter.models_request(pool.secrets[index])
            try:
                async with asyncio.timeout(_LIST_TIMEOUT):
                    response = await self.transport.send(request, self.timeouts)
                    body = scrub(await response.read(), pool.hidden)
                if response.status >= 400:
                    raise pool.adapter.classify(response.status, response.headers, body, self.clock.now())
                models = pool.adapter.parse_models(body)
            except (UpstreamError, TimeoutError) as error:
                reason = error.message if isinstance(error, UpstreamError) else "timed out"
                logger.warning("model list failed provider=%s key=%s: %s", name, pool.masks[index], reason)
                continue
            allowed = (m for m in models if model_allowed(m, settings.ignore_models, settings.whitelist_models))
            return _Entry(tuple(dict.fromkeys(allowed)), self.clock.now() + self.ttl)
        return _Entry((), self.clock.now() + min(self.ttl, _RETRY_FAILED_AFTER))
