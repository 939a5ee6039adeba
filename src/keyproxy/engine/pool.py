"""A provider at run time: its adapter, its keys (by fingerprint, mask and tier) and its selection policy."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field, replace

from keyproxy.config.settings import ProviderSettings, Timeouts
from keyproxy.engine.selection import SelectionPolicy
from keyproxy.providers import ProviderAdapter, adapter_for
from keyproxy.redact import fingerprint, mask
from keyproxy.transport.base import RequestTimeouts, UpstreamRequest


@dataclass(slots=True)
class Pool:
    settings: ProviderSettings
    adapter: ProviderAdapter
    policy: SelectionPolicy
    secrets: tuple[str, ...] = field(repr=False)
    hidden: tuple[str, ...] = field(repr=False)
    """Everything an answer must not show: the keys and the base URL's credentials."""
    key_ids: tuple[str, ...]
    masks: tuple[str, ...]
    priorities: tuple[int, ...]
    proxies: tuple[str | None, ...] = field(repr=False)
    """Each key's outbound proxy (None: direct)."""
    groups: dict[str, str]
    """Model -> the bucket its quota group shares."""
    _freed: asyncio.Event | None = None

    @classmethod
    def build(cls, settings: ProviderSettings, tolerance: float) -> Pool:
        secrets = tuple(credential.secret for credential in settings.credentials)
        policy = SelectionPolicy(
            mode=settings.rotation_mode,
            tolerance=tolerance,
            max_concurrent=settings.max_concurrent_per_key,
            optimal_concurrent=settings.optimal_concurrent_per_key,
            multipliers=dict(settings.priority_multipliers),
        )
        return cls(
            settings=settings,
            adapter=adapter_for(settings),
            policy=policy,
            secrets=secrets,
            hidden=settings.secrets(),
            key_ids=tuple(fingerprint(secret) if secret else f"anonymous-{settings.name}" for secret in secrets),
            masks=tuple(mask(secret) if secret else "(no key)" for secret in secrets),
            priorities=tuple(credential.priority for credential in settings.credentials),
            proxies=tuple(credential.proxy for credential in settings.credentials),
            groups={model: f"group:{group}" for group, models in settings.quota_groups.items() for model in models},
        )

    @property
    def name(self) -> str:
        return self.settings.name

    def bucket(self, model: str) -> str:
        """Where a model's cooldowns live: its quota group's bucket when it has one, so the group cools together."""
        return self.groups.get(model, model)

    def routed(self, request: UpstreamRequest, index: int) -> UpstreamRequest:
        """`request` sent the way key `index` goes out: through its proxy, if it has one."""
        proxy = self.proxies[index]
        return request if proxy is None else replace(request, proxy=proxy)

    def index_of(self, key: str) -> int | None:
        """A key named by fingerprint or by its mask."""
        for index, (key_id, shown) in enumerate(zip(self.key_ids, self.masks, strict=True)):
            if key in (key_id, shown):
                return index
        return None

    async def wait_freed(self) -> None:
        """Return when a request on this provider ends."""
        if self._freed is None:
            self._freed = asyncio.Event()
        await self._freed.wait()

    async def wait_freed_or(self, seconds: float) -> None:
        """Return when a request on this provider ends, or after `seconds`."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.wait_freed()

    def notify_freed(self) -> None:
        if self._freed is not None:
            self._freed.set()
            self._freed = None


def request_timeouts(timeouts: Timeouts, *, stream: bool) -> RequestTimeouts:
    read = timeouts.read_streaming if stream else timeouts.read_non_streaming
    return RequestTimeouts(connect=timeouts.connect, pool=timeouts.pool, read=read)
