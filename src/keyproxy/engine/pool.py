"""A provider at run time: its adapter, its keys (by fingerprint, mask and tier) and its selection policy.

A pool is a snapshot: when keys are added, removed or disabled, or the configuration is reloaded, a new pool
replaces it in the pools mapping, and a request that already holds the old one finishes with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
from dataclasses import dataclass, field

import msgspec

from keyproxy.config.settings import FairCycle, ProviderSettings, Timeouts
from keyproxy.engine.accounts import Account, Accounts
from keyproxy.engine.caps import CapTable
from keyproxy.engine.selection import SelectionPolicy
from keyproxy.providers import ProviderAdapter, adapter_for
from keyproxy.redact import Fingerprinter, mask
from keyproxy.transport.base import RequestTimeouts, UpstreamRequest

_NONE: frozenset[str] = frozenset()
_REMEMBERED_MODELS = 1024
"""Model names a pool remembers its left-out keys for; clients choose model names, so it starts over when full."""


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
    declared: tuple[tuple[str, ...] | None, ...] = ()
    """Each key's declared models (`<P>_API_KEY_<N>_MODELS`, names or globs), None for any model; empty when
    no key declares any, so a request asks nothing more."""
    accounts: tuple[Account | None, ...] = ()
    """Each key's OAuth account (None: a plain key); empty when the provider has none."""
    fair: FairCycle | None = None
    """FAIR_CYCLE_<P>: None when off."""
    caps: CapTable | None = None
    """CUSTOM_CAP_<P>_*: None when the provider has none."""
    freed: Freed = field(default_factory=lambda: Freed())
    """Shared by the snapshots of one provider: a request ending on an old snapshot wakes waiters on the new."""
    _left_out: dict[str, frozenset[str]] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def build(
        cls, settings: ProviderSettings, tolerance: float, *, fingerprints: Fingerprinter, freed: Freed | None = None,
        accounts: Accounts | None = None,
    ) -> Pool:  # fmt: skip
        """`accounts`: where the provider's OAuth accounts live across snapshots (None: it has none)."""
        secrets = tuple(credential.secret for credential in settings.credentials)
        held = tuple(accounts.account(settings, c) if accounts else None for c in settings.credentials)
        # An account's tier, once known, decides its priority: paid accounts before free ones.
        priorities = tuple(
            account.priority() if account else c.priority
            for account, c in zip(held, settings.credentials, strict=True)
        )
        declared = tuple(credential.models for credential in settings.credentials)
        policy = SelectionPolicy(
            mode=settings.rotation_mode,
            tolerance=tolerance,
            max_concurrent=settings.max_concurrent_per_key,
            optimal_concurrent=settings.optimal_concurrent_per_key,
            multipliers=dict(settings.priority_multipliers),
        )
        return cls(
            settings=settings,
            adapter=adapter_for(settings, accounts.grants(settings.name) if accounts else None),
            policy=policy,
            secrets=secrets,
            hidden=settings.secrets(),
            key_ids=tuple(key_id(fingerprints, settings.name, secret) for secret in secrets),
            masks=tuple(mask(secret) if secret else "(no key)" for secret in secrets),
            priorities=priorities,
            proxies=tuple(credential.proxy for credential in settings.credentials),
            declared=declared if any(models is not None for models in declared) else (),
            groups={model: f"group:{group}" for group, models in settings.quota_groups.items() for model in models},
            accounts=held if any(held) else (),
            fair=settings.fair_cycle,
            caps=CapTable.build(settings.custom_caps),
            freed=freed or Freed(),
        )

    @property
    def name(self) -> str:
        return self.settings.name

    def bucket(self, model: str) -> str:
        """Where a model's cooldowns live: its quota group's bucket when it has one, so the group cools together."""
        return self.groups.get(model, model)

    def left_out(self, model: str) -> frozenset[str]:
        """The keys (by id) whose declared models do not include `model`: never tried for it."""
        if not self.declared:
            return _NONE
        found = self._left_out.get(model)
        if found is None:
            if len(self._left_out) >= _REMEMBERED_MODELS:
                self._left_out.clear()
            found = self._left_out[model] = frozenset(
                key_id
                for key_id, models in zip(self.key_ids, self.declared, strict=True)
                if models is not None and not any(fnmatch.fnmatchcase(model, pattern) for pattern in models)
            )
        return found

    async def ready(self, index: int) -> int | None:
        """Make key `index` usable when it is an OAuth account (a valid token, its project); the token's
        generation, which a refusal of it names (`renew`). None for a plain key, at no cost."""
        if not self.accounts:
            return None
        account = self.accounts[index]
        return None if account is None else await account.ready()

    async def renew(self, index: int, generation: int) -> bool:
        """After a 401 of the token of `generation`: refresh it; False for a plain key, whose refusal stands."""
        account = self.accounts[index] if self.accounts else None
        if account is None:
            return False
        await account.renew(generation)
        return True

    def routed(self, request: UpstreamRequest, index: int) -> UpstreamRequest:
        """`request` sent the way key `index` goes out: through its proxy, if it has one."""
        proxy = self.proxies[index]
        return request if proxy is None else msgspec.structs.replace(request, proxy=proxy)

    async def wait_freed(self) -> None:
        """Return when a request on this provider ends."""
        await self.freed.wait()

    async def wait_freed_or(self, seconds: float) -> None:
        """Return when a request on this provider ends, or after `seconds`."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.freed.wait()

    def notify_freed(self) -> None:
        self.freed.notify()


class Freed:
    """Wakes whoever waits for a provider's request to end."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    async def wait(self) -> None:
        if self._event is None:
            self._event = asyncio.Event()
        await self._event.wait()

    def notify(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None


def key_id(fingerprints: Fingerprinter, provider: str, secret: str) -> str:
    """How a key is named in state and answers: its fingerprint (a provider without keys has one anonymous)."""
    return fingerprints(secret) if secret else f"anonymous-{provider}"


def request_timeouts(timeouts: Timeouts, *, stream: bool) -> RequestTimeouts:
    read = timeouts.read_streaming if stream else timeouts.read_non_streaming
    return RequestTimeouts(connect=timeouts.connect, pool=timeouts.pool, read=read)
