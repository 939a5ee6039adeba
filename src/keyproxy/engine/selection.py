"""Which key to try next: a pure policy over key statuses, by tier, concurrency, headroom and load."""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import msgspec

from keyproxy.config.settings import RotationMode
from keyproxy.state.base import KeyStatus

USAGE_HALF_LIFE = 60.0
"""Seconds for a key's recorded usage to lose half its weight."""

_RNG = random.Random()
"""The only source of non-determinism here, used when `choose` is given no `rng`."""


@dataclass(frozen=True, slots=True)
class SelectionPolicy:
    """How one provider's keys are chosen.

    - `mode`: "balanced" spreads requests by load; "sequential" stays on one key while it is usable.
    - `tolerance` (ROTATION_TOLERANCE, balanced only): the load difference, in requests, that divides a
      key's chance by e. 0 always picks the least loaded key.
    - `max_concurrent` (MAX_CONCURRENT_REQUESTS_PER_KEY_<P>): hard cap on a key's requests in flight.
    - `optimal_concurrent` (OPTIMAL_CONCURRENT_REQUESTS_PER_KEY_<P>): soft cap; keys under it are preferred.
    - `multipliers` (CONCURRENCY_MULTIPLIER_<P>_PRIORITY_<N>): tier -> factor applied to both caps.
    - `low_headroom`: a key with less than this fraction of its rate limit left is avoided while
      another candidate has more.
    """

    tolerance: float
    mode: RotationMode = "balanced"
    max_concurrent: int | None = None
    optimal_concurrent: int | None = None
    multipliers: Mapping[int, float] = field(default_factory=dict)
    low_headroom: float = 0.1

    def __post_init__(self) -> None:
        if not (math.isfinite(self.tolerance) and self.tolerance >= 0):
            raise ValueError(f"tolerance must be a finite number >= 0, not {self.tolerance!r}")
        for name, limit in (("max_concurrent", self.max_concurrent), ("optimal_concurrent", self.optimal_concurrent)):
            if limit is not None and limit < 1:
                raise ValueError(f"{name} must be at least 1, not {limit!r}")
        for tier, factor in self.multipliers.items():
            if not (math.isfinite(factor) and factor > 0):
                raise ValueError(f"multiplier for priority {tier} must be a finite number > 0, not {factor!r}")
        if not 0 <= self.low_headroom <= 1:
            raise ValueError(f"low_headroom must be between 0 and 1, not {self.low_headroom!r}")


# Structs: one of the two is made per attempt, and msgspec builds it in C.
class Pick(msgspec.Struct, frozen=True, gc=False):
    index: int


class Exhausted(msgspec.Struct, frozen=True, gc=False):
    """No key can be tried now.

    `retry_at` is the earliest instant a key that was not excluded may become usable, None if none
    ever will. `busy` is True when some key is blocked only by its concurrency cap: it frees when a
    request ends, so a caller may wait for a release rather than for a time.
    """

    retry_at: float | None
    busy: bool = False


Choice = Pick | Exhausted


def cap(limit: int | None, priority: int, multipliers: Mapping[int, float]) -> int | None:
    """A concurrency cap for a key of tier `priority`: `max(1, floor(limit * multiplier))`; None stays None."""
    return None if limit is None else _cap(limit, priority, multipliers)


def decayed_usage(usage: float, last_used: float, now: float, half_life: float = USAGE_HALF_LIFE) -> float:
    """`usage` recorded at `last_used`, halved every `half_life` seconds since; a clock step back decays nothing."""
    elapsed = now - last_used
    if usage == 0.0 or elapsed <= 0.0:
        return usage
    return usage * math.pow(0.5, elapsed / half_life)


def choose(
    statuses: Sequence[KeyStatus],
    priorities: Sequence[int],
    now: float,
    policy: SelectionPolicy,
    *,
    exclude: Collection[str] = (),
    sticky: str | None = None,
    rng: random.Random | None = None,
) -> Choice:
    """The key to try next, or when one will be free.

    1. Usable: not in `exclude`; `cooldown_until` and `benched_until` not after `now`; fewer requests in
       flight than its hard cap; not drained (headroom 0 with `headroom_reset` after `now`: the
       provider said nothing is left until then).
    2. Tier: only usable keys of the best tier (lowest `priorities[i]`, 1 = highest) are candidates.
    3. Soft cap: among them, keys under their soft cap are preferred; keys between soft and hard cap
       are used only when none is under it.
    4. Headroom: candidates whose known headroom is under `policy.low_headroom` (until its reset) are
       dropped while another candidate has more.
    5. The candidate named by `sticky` (the key sequential rotation holds, or the one a conversation
       has been using in balanced mode), if it is one. Else, sequential: the first candidate in
       configuration order. Balanced: load is `decayed_usage + in_flight`; tolerance 0 takes the least loaded (ties: the
       least recently used, then the first); otherwise a random pick weighted `exp(-(load - min_load) /
       tolerance)`, drawn from `rng` (a shared module-level `random.Random` when None).

    With no usable key: `Exhausted` with the earliest time one recovers (`now` and `busy` for a key
    held only by its hard cap), or None when every key is excluded or there are none.
    """
    if len(priorities) != len(statuses):
        raise ValueError(f"{len(statuses)} statuses but {len(priorities)} priorities")
    hard_limit = policy.max_concurrent
    soft_limit = policy.optimal_concurrent
    multipliers = policy.multipliers
    low = policy.low_headroom
    best_tier = 0
    best_rank = 4
    candidates: list[int] = []
    retry_at: float | None = None
    busy = False
    for index, status in enumerate(statuses):
        if exclude and status.key_id in exclude:
            continue
        ready_at = max(status.cooldown_until, status.benched_until)
        headroom = status.headroom
        if headroom is not None and headroom <= 0.0 and status.headroom_reset > now:
            ready_at = max(ready_at, status.headroom_reset)
        if ready_at > now:
            if retry_at is None or ready_at < retry_at:
                retry_at = ready_at
            continue
        tier = priorities[index]
        in_flight = status.in_flight
        if hard_limit is not None and in_flight >= _cap(hard_limit, tier, multipliers):
            busy = True
            retry_at = now
            continue
        if candidates and tier > best_tier:
            continue
        # Rank orders the preferences within a tier: under the soft cap first, then enough headroom.
        rank = 0
        if soft_limit is not None and in_flight >= _cap(soft_limit, tier, multipliers):
            rank = 2
        if headroom is not None and headroom < low and status.headroom_reset > now:
            rank += 1
        if not candidates or tier < best_tier or rank < best_rank:
            best_tier, best_rank = tier, rank
            candidates = [index]
        elif rank == best_rank:
            candidates.append(index)
    if not candidates:
        return Exhausted(retry_at, busy)
    if sticky is not None:
        for index in candidates:
            if statuses[index].key_id == sticky:
                return Pick(index)
    if policy.mode == "sequential":
        return Pick(candidates[0])
    if len(candidates) == 1:
        return Pick(candidates[0])
    if policy.tolerance == 0.0:
        return Pick(_least_loaded(statuses, candidates, now))
    return Pick(_weighted(statuses, candidates, now, policy.tolerance, rng or _RNG))


def _cap(limit: int, priority: int, multipliers: Mapping[int, float]) -> int:
    factor = multipliers.get(priority) if multipliers else None
    return limit if factor is None else max(1, math.floor(limit * factor))


def _load(status: KeyStatus, now: float) -> float:
    return decayed_usage(status.usage, status.last_used, now) + status.in_flight


def _least_loaded(statuses: Sequence[KeyStatus], candidates: list[int], now: float) -> int:
    best = candidates[0]
    best_load = _load(statuses[best], now)
    for index in candidates[1:]:
        load = _load(statuses[index], now)
        if load < best_load or (load == best_load and statuses[index].last_used < statuses[best].last_used):
            best, best_load = index, load
    return best


def _weighted(
    statuses: Sequence[KeyStatus], candidates: list[int], now: float, tolerance: float, rng: random.Random
) -> int:
    loads = [_load(statuses[index], now) for index in candidates]
    floor = min(loads)
    weights = [math.exp((floor - load) / tolerance) for load in loads]
    # The least loaded key weighs exactly 1, so the total is never 0 and the draw always lands.
    point = rng.random() * sum(weights)
    for index, weight in zip(candidates, weights, strict=True):
        point -= weight
        if point < 0.0:
            return index
    return candidates[-1]
