"""Every provider's keys as configured plus the changes made at run time, and the pools they make.

Each change builds a new pool for the provider and puts it in `pools` in one assignment; a request that
already picked up the old pool finishes with it. Key state is kept by fingerprint, so a key that stays keeps
its cooldowns. A change is saved (config/runtime_keys.py) before it takes effect: one that cannot be saved
changes nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from keyproxy.config.runtime_keys import KeyChanges, ProviderChanges, key_problem, write_key_changes
from keyproxy.config.settings import Credential, ProviderSettings
from keyproxy.engine.accounts import Accounts
from keyproxy.engine.pool import Pool, key_id
from keyproxy.errors import Conflict, InvalidRequest, KeyproxyError, NotFound
from keyproxy.logs import remember_secrets
from keyproxy.redact import Fingerprinter, mask

Origin = Literal["env", "runtime"]
RUNTIME_SOURCE = "runtime"
"""The `source` of a key added at run time (an environment key's is its variable)."""


@dataclass(frozen=True, slots=True)
class KeyEntry:
    credential: Credential
    key_id: str
    mask: str
    origin: Origin
    disabled: bool


class KeyRing:
    """`path`: where changes are saved; None keeps them in memory only (KEYPROXY_STATE=memory). `fingerprints`:
    the deployment's, which name every key. `locked`: why keys cannot change at run time (several worker
    processes would each change their own list); None: they can. `accounts`: the OAuth accounts' run-time
    state, kept across pool snapshots."""

    def __init__(
        self, providers: Mapping[str, ProviderSettings], changes: KeyChanges, tolerance: float, path: Path | None,
        fingerprints: Fingerprinter, locked: str | None = None, accounts: Accounts | None = None,
    ) -> None:  # fmt: skip
        self.fingerprints = fingerprints
        self._accounts = accounts
        if accounts is not None:
            # A tier found for an account moves its key: the provider's pool is built again with it.
            accounts.changed = self._swap
        self._locked = locked
        self._configured = dict(providers)
        self._changes = {name: _pruned(entry, providers.get(name), fingerprints) for name, entry in changes.items()}
        self.stale = self._changes != dict(changes)
        """Marks of keys the configuration no longer has were dropped: `save_now` forgets them on disk too."""
        self._tolerance = tolerance
        self._path = path
        self._lock = asyncio.Lock()
        self.pools: dict[str, Pool] = {}
        """Provider -> its current pool; shared with the router and the routes, which look pools up per request."""
        for name in providers:
            self._swap(name)

    def save_now(self) -> None:
        """Write the changes synchronously (at start, before the loop serves)."""
        self._write(self._changes)

    def entries(self, provider: str) -> list[KeyEntry]:
        """The provider's keys, disabled ones included, in rotation order: configured first, then added."""
        settings = self._configured[provider]
        changes = self._changes.get(provider, ProviderChanges())
        found: list[KeyEntry] = []
        seen: set[str] = set()
        for credential, origin in _credentials(settings, changes):
            identity = key_id(self.fingerprints, provider, credential.secret)
            if identity in seen or (origin == "env" and identity in changes.removed):
                continue
            seen.add(identity)
            shown = mask(credential.secret) if credential.secret else "(no key)"
            found.append(KeyEntry(credential, identity, shown, origin, identity in changes.disabled))
        return found

    def secrets(self) -> Iterator[tuple[str, str]]:
        """(provider, key) of every key known, removed ones included: whose state may be kept."""
        for name, settings in self._configured.items():
            changes = self._changes.get(name, ProviderChanges())
            for credential, _ in _credentials(settings, changes):
                yield name, credential.secret

    def known_ids(self) -> Iterator[tuple[str, str]]:
        for name in self._configured:
            for entry in self.entries(name):
                yield name, entry.key_id

    def find(self, provider: str, key: str) -> KeyEntry:
        """A key named by fingerprint or, when no other key shares it, by its mask."""
        entries = self.entries(self._provider(provider))
        for entry in entries:
            if entry.key_id == key:
                return entry
        masked = [entry for entry in entries if entry.mask == key]
        if len(masked) == 1:
            return masked[0]
        if masked:
            raise InvalidRequest(f"{len(masked)} keys of {provider} are masked {key}; name one by its id")
        raise NotFound(f"provider {provider!r} has no key {key!r} (give its id or mask)")

    async def add(self, provider: str, secret: str) -> KeyEntry:
        self._provider(provider)
        problem = key_problem(secret)
        if problem:
            raise InvalidRequest(f"the key {problem}")
        if any(credential.account for credential in self._configured[provider].credentials):
            raise InvalidRequest(f"provider {provider!r} takes OAuth accounts, not keys: use keyproxy login")
        identity = key_id(self.fingerprints, provider, secret)

        def add(changes: ProviderChanges) -> ProviderChanges:
            if any(entry.key_id == identity for entry in self.entries(provider)):
                raise Conflict(f"provider {provider!r} already has key {identity}")
            if identity in changes.removed:
                # A configured key removed before comes back as what it is.
                return dataclasses.replace(changes, removed=changes.removed - {identity})
            return dataclasses.replace(changes, added=(*changes.added, secret))

        await self._change(provider, add)
        return self.find(provider, identity)

    async def remove(self, provider: str, key: str) -> KeyEntry:
        entry = self.find(provider, key)

        def remove(changes: ProviderChanges) -> ProviderChanges:
            if entry not in self.entries(provider):
                raise NotFound(f"provider {provider!r} has no key {entry.key_id}")
            disabled = changes.disabled - {entry.key_id}
            if entry.origin == "runtime":
                fingerprints = self.fingerprints
                added = tuple(s for s in changes.added if key_id(fingerprints, provider, s) != entry.key_id)
                return dataclasses.replace(changes, added=added, disabled=disabled)
            return dataclasses.replace(changes, removed=changes.removed | {entry.key_id}, disabled=disabled)

        await self._change(provider, remove)
        return entry

    async def set_disabled(self, provider: str, key: str, disabled: bool) -> KeyEntry:
        entry = self.find(provider, key)

        def mark(changes: ProviderChanges) -> ProviderChanges:
            marks = changes.disabled | {entry.key_id} if disabled else changes.disabled - {entry.key_id}
            return dataclasses.replace(changes, disabled=marks)

        await self._change(provider, mark)
        return self.find(provider, entry.key_id)

    def probe_pool(self, provider: str, entry: KeyEntry) -> Pool:
        """A pool of this one key, enabled or not, for a probe of it."""
        settings = dataclasses.replace(self._configured[provider], credentials=(entry.credential,))
        return Pool.build(settings, self._tolerance, fingerprints=self.fingerprints, accounts=self._accounts)

    async def reconfigure(self, providers: Mapping[str, ProviderSettings], tolerance: float) -> list[str]:
        """Take new settings for the providers configured already; the names of those whose pool changed."""
        async with self._lock:
            changed = [
                name for name in self._configured
                if name in providers and (providers[name] != self._configured[name] or tolerance != self._tolerance)
            ]  # fmt: skip
            ids = self.fingerprints
            pruned = {name: _pruned(entry, providers.get(name), ids) for name, entry in self._changes.items()}
            if pruned != self._changes:
                await self._save(pruned)
                self._changes = pruned
            self._tolerance = tolerance
            for name in changed:
                self._configured[name] = providers[name]
                self._swap(name)
            return changed

    def _provider(self, provider: str) -> str:
        if provider not in self._configured:
            raise NotFound(f"no provider {provider!r}")
        return provider

    async def _change(self, provider: str, update: Callable[[ProviderChanges], ProviderChanges]) -> None:
        """Apply `update` to the provider's changes under the lock, so two changes never race."""
        if self._locked is not None:
            raise Conflict(self._locked)
        async with self._lock:
            current = self._changes.get(provider, ProviderChanges())
            updated = update(current)
            if updated == current:
                return
            changes = {**self._changes, provider: updated}
            await self._save(changes)
            self._changes = changes
            self._swap(provider)

    async def _save(self, changes: KeyChanges) -> None:
        if self._path is not None:
            await asyncio.to_thread(self._write, changes)

    def _write(self, changes: KeyChanges) -> None:
        if self._path is None:
            return
        try:
            write_key_changes(self._path, changes)
        except OSError as error:
            raise KeyproxyError(f"cannot save the key changes to {self._path}: {error.strerror}") from None

    def _swap(self, provider: str) -> None:
        entries = self.entries(provider)
        credentials = tuple(entry.credential for entry in entries)
        every = dataclasses.replace(self._configured[provider], credentials=credentials)
        # Keys added at run time or by a reload are masked in the log as the configured ones are.
        remember_secrets(every.secrets())
        enabled = tuple(entry.credential for entry in entries if not entry.disabled)
        settings = dataclasses.replace(every, credentials=enabled)
        old = self.pools.get(provider)
        self.pools[provider] = Pool.build(
            settings, self._tolerance, fingerprints=self.fingerprints, freed=old.freed if old else None,
            accounts=self._accounts,
        )  # fmt: skip


def _credentials(settings: ProviderSettings, changes: ProviderChanges) -> Iterator[tuple[Credential, Origin]]:
    for credential in settings.credentials:
        yield credential, "env"
    for secret in changes.added:
        yield Credential(secret=secret, source=RUNTIME_SOURCE, proxy=settings.proxy), "runtime"


def _pruned(
    changes: ProviderChanges, settings: ProviderSettings | None, fingerprints: Fingerprinter
) -> ProviderChanges:
    """Without marks of keys the provider no longer has: a configured key removed at run time is live again
    once it leaves the configuration and comes back. A provider no longer configured keeps its changes."""
    if settings is None:
        return changes
    configured = {key_id(fingerprints, settings.name, credential.secret) for credential in settings.credentials}
    added = {key_id(fingerprints, settings.name, secret) for secret in changes.added}
    return dataclasses.replace(
        changes, removed=changes.removed & configured, disabled=changes.disabled & (configured | added)
    )
