"""The model list: gathered from every provider's own list, cached with expiry, filtered.

A provider that cannot be listed keeps its last list, or contributes nothing, for a short while; it
never breaks the list. Bare model names are looked up here, in the cache: a list that has expired is
still used while it is refreshed in the background, so only the first lookup ever waits for the lists.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from keyproxy.clock import Clock
from keyproxy.config.filters import model_allowed
from keyproxy.config.settings import AnswerLimits, Timeouts
from keyproxy.engine.pool import Pool
from keyproxy.errors import UpstreamError
from keyproxy.providers.base import NAMED_BY_LIST
from keyproxy.redact import scrub
from keyproxy.transport.base import RequestTimeouts, Transport

logger = logging.getLogger("keyproxy.models")

_LIST_TIMEOUT = 10.0
_RETRY_FAILED_AFTER = 60.0
_KEYS_TRIED = 3


@dataclass(frozen=True, slots=True)
class _Entry:
    models: tuple[str, ...]
    names: frozenset[str]
    expires: float
    listed: bool
    """False when no key could list the provider (the models are then the last ones it listed, if any)."""


class ModelList:
    def __init__(
        self,
        pools: Mapping[str, Pool],
        transport: Transport,
        clock: Clock,
        timeouts: Timeouts,
        ttl: float,
        limits: AnswerLimits | None = None,
    ) -> None:
        self.pools = pools
        self.transport = transport
        self.clock = clock
        self.ttl = ttl
        # A list is read whole before it is parsed: the same cap as any whole answer keeps memory bounded.
        self.body_limit = (limits or AnswerLimits()).body_bytes
        limit = min(_LIST_TIMEOUT, timeouts.total)
        self.timeouts = RequestTimeouts(connect=limit, pool=limit, read=limit)
        self._cache: dict[str, _Entry] = {}
        self._refreshing: dict[str, asyncio.Task[_Entry]] = {}

    async def ids(self) -> list[str]:
        """Every offered model as `provider/model`, in provider order."""
        lists = await asyncio.gather(*(self.provider_models(name) for name in self.pools))
        return [f"{name}/{model}" for name, models in zip(self.pools, lists, strict=True) for model in models]

    async def provider_models(self, name: str) -> tuple[str, ...]:
        """The provider's models, refreshed first when the cached list has expired."""
        entry = self._cache.get(name)
        if entry is None or entry.expires <= self.clock.now():
            entry = await asyncio.shield(self._refresh(name))
        return entry.models

    async def providers_listing(self, model: str) -> tuple[str, ...]:
        """The providers whose list names `model`, in provider order, from the cache.

        Providers never listed yet are listed first (concurrently, once, whoever asks); an expired list
        answers as it is and is refreshed in the background, so requests do not wait for model lists.
        """
        named = [name for name, pool in self.pools.items() if pool.settings.protocol in NAMED_BY_LIST]
        missing = [name for name in named if name not in self._cache]
        if missing:
            await asyncio.gather(*(asyncio.shield(self._refresh(name)) for name in missing))
        now = self.clock.now()
        found = []
        for name in named:
            entry = self._cache[name]
            if entry.expires <= now:
                self._refresh(name)
            if model in entry.names:
                found.append(name)
        return tuple(found)

    async def listings(self) -> dict[str, tuple[str, ...] | None]:
        """Each provider's models freshly listed, None for a provider no key could list (`keyproxy check`)."""
        entries = await asyncio.gather(*(asyncio.shield(self._refresh(name)) for name in self.pools))
        return {name: entry.models if entry.listed else None for name, entry in zip(self.pools, entries, strict=True)}

    def _refresh(self, name: str) -> asyncio.Task[_Entry]:
        """The provider's list being fetched into the cache; one refresh per provider at a time, shared."""
        task = self._refreshing.get(name)
        if task is None:
            task = asyncio.ensure_future(self._store(name))
            self._refreshing[name] = task
            task.add_done_callback(lambda _: self._refreshing.pop(name, None))
        return task

    async def _store(self, name: str) -> _Entry:
        settings = self.pools[name].settings
        static = tuple(
            m for m in settings.static_models if model_allowed(m, settings.ignore_models, settings.whitelist_models)
        )
        fetched = await self._fetch(name, quiet=bool(static))
        now = self.clock.now()
        if fetched is not None:
            # `<P>_MODELS` come first, as configured; the upstream's list adds the names they lack.
            models = tuple(dict.fromkeys((*static, *fetched)))
            entry = _Entry(models, frozenset(models), now + self.ttl, listed=True)
        else:
            # A provider that fails to list keeps the models it listed last: it still serves them.
            last = self._cache.get(name)
            kept = last.models if last is not None else static
            entry = _Entry(kept, frozenset(kept), now + min(self.ttl, _RETRY_FAILED_AFTER), listed=bool(static))
        self._cache[name] = entry
        return entry

    async def _fetch(self, name: str, *, quiet: bool) -> tuple[str, ...] | None:
        """The upstream's list; `quiet` when `<P>_MODELS` stands in for it (the upstream may have none)."""
        pool = self.pools[name]
        settings = pool.settings
        for index in range(min(_KEYS_TRIED, len(pool.secrets))):
            request = pool.routed(pool.adapter.models_request(pool.secrets[index]), index)
            try:
                async with asyncio.timeout(_LIST_TIMEOUT):
                    response = await self.transport.send(request, self.timeouts)
                    body = scrub(await response.read(self.body_limit), pool.hidden)
                if response.status >= 400:
                    raise pool.adapter.classify(response.status, response.headers, body, self.clock.now())
                models = pool.adapter.parse_models(body)
            except (UpstreamError, TimeoutError) as error:
                reason = error.message if isinstance(error, UpstreamError) else "timed out"
                logger.log(
                    logging.DEBUG if quiet else logging.WARNING,
                    "model list failed provider=%s key=%s: %s", name, pool.masks[index], reason,
                )
                continue
            allowed = (m for m in models if model_allowed(m, settings.ignore_models, settings.whitelist_models))
            return tuple(dict.fromkeys(allowed))
        return None
