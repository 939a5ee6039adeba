"""The state interface the engine reads and writes: cooldowns, benched keys, in-flight counts, usage,
and the responses the Responses API stores.

Keys are identified by fingerprint, never by the secret. Times are wall-clock epoch seconds so a
cooldown means the same thing after a restart or on another instance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, Protocol

from keyproxy.clock import Clock
from keyproxy.errors import ErrorClass
from keyproxy.events import EventSink
from keyproxy.usage.book import UsageRows


class KeyStatus(NamedTuple):
    """One key's state for one model (or quota group). A tuple: built for every key on every request.

    `usage` is a decayed count of recent requests (see engine.selection.decayed_usage) as of `last_used`.
    `headroom` is the fraction of the provider's rate limit left after the key's last answer (None:
    the provider does not say); it holds until `headroom_reset`.
    """

    key_id: str
    cooldown_until: float = 0.0
    benched_until: float = 0.0
    in_flight: int = 0
    failures: int = 0
    usage: float = 0.0
    last_used: float = 0.0
    headroom: float | None = None
    headroom_reset: float = 0.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one attempt's outcome does to a key: `kind` "model" cools one model (or quota group),
    "key" benches the key for every model; `reason` None is a success."""

    kind: Literal["model", "key", "none"]
    until: float
    reason: ErrorClass | None


SUCCESS = Verdict(kind="none", until=0.0, reason=None)


@dataclass(frozen=True, slots=True)
class CycleMarks:
    """One fair cycle (a provider's model group, or all its models): when it started (0: none runs) and the keys
    exhausted in it, with when each was marked (engine/fair_cycle.py)."""

    start: float = 0.0
    exhausted: Mapping[str, float] = field(default_factory=dict)


NO_MARKS = CycleMarks()


def marked(marks: CycleMarks, key_id: str, now: float, duration: float) -> CycleMarks:
    """`marks` with the key exhausted at `now`; a cycle not running, or past its `duration`, starts afresh."""
    if not marks.exhausted or now >= marks.start + duration:
        return CycleMarks(now, {key_id: now})
    if key_id in marks.exhausted:
        return marks
    return CycleMarks(marks.start, {**marks.exhausted, key_id: now})


def unmarked(marks: CycleMarks, key_ids: Sequence[str]) -> CycleMarks:
    left = {key: at for key, at in marks.exhausted.items() if key not in key_ids}
    return CycleMarks(marks.start, left) if left else NO_MARKS


@dataclass(frozen=True, slots=True)
class Cooldown:
    model: str
    until: float
    reason: ErrorClass


@dataclass(frozen=True, slots=True)
class KeyReport:
    """Everything known about one key, for `keyproxy status` and the admin API."""

    key_id: str
    benched_until: float
    bench_reason: ErrorClass | None
    cooldowns: tuple[Cooldown, ...]
    in_flight: int
    usage: float
    last_used: float


class StateStore(EventSink, Protocol):
    """Key state and usage behind one interface, and the sink of attempt events (counted as usage).
    `model` is the cooldown bucket: the model name, or its quota group's shared name."""

    async def start(self, clock: Clock) -> None:
        """Before the first request: open what the store keeps state in and start its background work."""
        ...

    async def stop(self) -> None:
        """After the last request: write what is pending and close."""
        ...

    async def usage(
        self, provider: str | None = None, model: str | None = None, since: str | None = None, until: str | None = None
    ) -> UsageRows:
        """Usage per day, provider, key and model; `since` and `until` are UTC days, both inclusive."""
        ...

    async def statuses(
        self, provider: str, key_ids: Sequence[str], model: str, *, recent: bool = False
    ) -> list[KeyStatus]:
        """With `recent`, a shared store may answer with what its last `acquire` on this pool saw instead of
        asking: a key chosen on that must then be acquired with `model`, which checks it again."""
        ...

    async def record(self, provider: str, key_id: str, model: str, verdict: Verdict) -> None:
        """Apply an attempt's verdict; a success clears the failure streak, the cooldown and the bench."""
        ...

    async def acquire(
        self, provider: str, key_id: str, usage: float, now: float, cap: int | None = None, *, model: str | None = None
    ) -> bool:
        """A request starts on the key, unless it already has `cap` in flight (on every instance sharing
        the store): then nothing changes and the answer is False. `usage` is its new decayed usage. With
        `model` (the bucket the key was chosen for), a shared store also refuses a key that has begun
        cooling or been benched since the statuses it was chosen on; a local store's are never behind."""
        ...

    async def release(self, provider: str, key_id: str) -> None: ...

    async def observe_headroom(
        self, provider: str, key_id: str, model: str, fraction: float | None, reset_at: float
    ) -> None: ...

    async def sticky(self, provider: str, model: str) -> str | None:
        """The key sequential rotation is holding on to for this model."""
        ...

    async def set_sticky(self, provider: str, model: str, key_id: str) -> None: ...

    async def affinity(self, provider: str, conversation: str, now: float) -> str | None:
        """The key a conversation has been using (its prompt cache lives there), unless that was long ago."""
        ...

    async def set_affinity(self, provider: str, conversation: str, key_id: str, until: float) -> None: ...

    async def report(self, provider: str, key_ids: Sequence[str], now: float) -> list[KeyReport]: ...

    async def cycle(self, provider: str, tracking: str) -> CycleMarks:
        """The fair cycle of `tracking` (a cooldown bucket, or "*" for every model): asked only by providers with
        fair cycle on. A shared store answers from its local view, refreshed in the background."""
        ...

    async def cycles(self, provider: str) -> dict[str, CycleMarks]:
        """Every fair cycle of the provider that marks a key, by tracking, as a shared store holds it for every
        instance: for `keyproxy status`, never asked by a request."""
        ...

    async def exhaust(self, provider: str, tracking: str, key_id: str, now: float, duration: float) -> None:
        """Mark the key exhausted in the cycle; a cycle not running (or older than `duration`) starts now, empty."""
        ...

    async def reset_cycle(self, provider: str, tracking: str, key_ids: Sequence[str], now: float) -> None:
        """Forget these keys' marks; the cycle ends when none is left (the next mark starts another)."""
        ...

    async def clear(self, provider: str, key_id: str | None = None) -> int:
        """Lift cooldowns and benches of one key (or every key of the provider); returns how many were lifted."""
        ...

    async def put_response(self, response_id: str, record: bytes, now: float, expires_at: float) -> None:
        """Keep a stored Responses-API response, an opaque record, until `expires_at`; answered at once by
        `get_response`, never waiting for the disk."""
        ...

    async def get_response(self, response_id: str, now: float) -> bytes | None:
        """The record stored under `response_id`; None when there is none or it has expired."""
        ...

    async def delete_response(self, response_id: str, now: float) -> bool:
        """Forget a stored response; whether there was one (an expired one does not count)."""
        ...
