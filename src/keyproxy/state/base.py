"""The state interface the engine reads and writes: cooldowns, benched keys, in-flight counts.

Keys are identified by fingerprint, never by the secret. Times are wall-clock epoch seconds so a
cooldown means the same thing after a restart or on another instance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from keyproxy.errors import ErrorClass


class KeyStatus(NamedTuple):
    """One key's state for one model. A tuple: built for every key on every request, so it must be cheap."""

    key_id: str
    cooldown_until: float = 0.0
    benched_until: float = 0.0
    in_flight: int = 0
    failures: int = 0

    def available_at(self) -> float:
        return max(self.cooldown_until, self.benched_until)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one attempt's outcome does to a key. `scope` "model" cools one model, "key" benches the key."""

    scope: str
    until: float
    reason: ErrorClass | None


SUCCESS = Verdict(scope="none", until=0.0, reason=None)


class StateStore(Protocol):
    async def statuses(self, provider: str, key_ids: Sequence[str], model: str) -> list[KeyStatus]: ...

    async def record(self, provider: str, key_id: str, model: str, verdict: Verdict) -> None:
        """Apply an attempt's verdict; a success (`reason` None) clears the failure streak."""
        ...

    async def acquire(self, provider: str, key_id: str) -> None: ...

    async def release(self, provider: str, key_id: str) -> None: ...
