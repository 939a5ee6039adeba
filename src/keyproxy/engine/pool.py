"""A provider at run time: its adapter, its keys (by fingerprint and mask) and its rotation cursor."""

from __future__ import annotations

from dataclasses import dataclass, field

from keyproxy.config.settings import ProviderSettings, Timeouts
from keyproxy.providers import ProviderAdapter, adapter_for
from keyproxy.redact import fingerprint, mask
from keyproxy.transport.base import RequestTimeouts


@dataclass(slots=True)
class Pool:
    settings: ProviderSettings
    adapter: ProviderAdapter
    secrets: tuple[str, ...] = field(repr=False)
    key_ids: tuple[str, ...]
    masks: tuple[str, ...]
    cursor: int = 0

    @classmethod
    def build(cls, settings: ProviderSettings) -> Pool:
        secrets = tuple(credential.secret for credential in settings.credentials)
        return cls(
            settings=settings,
            adapter=adapter_for(settings),
            secrets=secrets,
            key_ids=tuple(fingerprint(secret) if secret else f"anonymous-{settings.name}" for secret in secrets),
            masks=tuple(mask(secret) if secret else "(no key)" for secret in secrets),
        )

    @property
    def name(self) -> str:
        return self.settings.name


def request_timeouts(timeouts: Timeouts, *, stream: bool) -> RequestTimeouts:
    read = timeouts.read_streaming if stream else timeouts.read_non_streaming
    return RequestTimeouts(connect=timeouts.connect, pool=timeouts.pool, read=read, write=timeouts.write)
