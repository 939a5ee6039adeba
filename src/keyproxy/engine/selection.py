"""Which key to try next: a pure policy over key statuses. Round robin for now."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from keyproxy.state.base import KeyStatus


@dataclass(frozen=True, slots=True)
class Pick:
    index: int


@dataclass(frozen=True, slots=True)
class Exhausted:
    """No key can be tried now; `retry_at` is when the earliest one recovers, None if none will."""

    retry_at: float | None


Choice = Pick | Exhausted


def choose(
    statuses: Sequence[KeyStatus],
    now: float,
    *,
    start: int,
    exclude: Collection[str],
    max_in_flight: int | None = None,
) -> Choice:
    """The first usable key at or after `start`, wrapping around; keys in `exclude` were tried already."""
    count = len(statuses)
    retry_at: float | None = None
    for offset in range(count):
        index = (start + offset) % count
        status = statuses[index]
        if status.key_id in exclude:
            continue
        ready_at = status.available_at()
        if ready_at > now:
            retry_at = ready_at if retry_at is None else min(retry_at, ready_at)
            continue
        if max_in_flight is not None and status.in_flight >= max_in_flight:
            retry_at = now if retry_at is None else min(retry_at, now)
            continue
        return Pick(index)
    return Exhausted(retry_at)
