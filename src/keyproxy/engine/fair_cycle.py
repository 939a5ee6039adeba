"""Fair cycle: a pure policy. A key that took a long cooldown waits, once the cooldown is over, until the other keys
of its tier (or of every tier) are exhausted too, so each key's quota is used in turn (docs/resilience.md).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from keyproxy.config.settings import FairCycle
from keyproxy.state.base import CycleMarks, KeyStatus, Verdict

EVERY_MODEL = "*"
"""The tracking of a cycle kept per key rather than per model (FAIR_CYCLE_TRACKING_MODE_<P>=credential)."""

_NONE: frozenset[str] = frozenset()


def tracking(cycle: FairCycle, bucket: str) -> str:
    """Which cycle a request's marks belong to: its cooldown bucket (model or quota group), or every model's."""
    return bucket if cycle.tracking == "model_group" else EVERY_MODEL


def exhausts(cycle: FairCycle, verdict: Verdict, now: float) -> bool:
    """A model cooldown at least the exhaustion threshold long (a bench for every model never marks, as in the old
    proxy: a rejected key says nothing of its quota)."""
    return verdict.kind == "model" and verdict.reason is not None and verdict.until - now >= cycle.exhaustion


def held_out(cycle: FairCycle, marks: CycleMarks, now: float) -> frozenset[str]:
    """The keys the cycle keeps out of rotation now: its exhausted ones, until it is `duration` old."""
    if not marks.exhausted or now >= marks.start + cycle.duration:
        return _NONE
    return frozenset(marks.exhausted)


@dataclass(frozen=True, slots=True)
class Reset:
    """What to do when no key can be tried: forget these keys' marks, or wait until `wait_until` for a key whose
    cooldown ends soon (None: nothing to wait for)."""

    key_ids: tuple[str, ...] = ()
    wait_until: float | None = None


def reset(
    cycle: FairCycle, held: Collection[str], key_ids: Sequence[str], priorities: Sequence[int],
    statuses: Sequence[KeyStatus], now: float, *, left_out: Collection[str] = (), capped: Collection[str] = (),
) -> Reset:  # fmt: skip
    """Asked only when no key can be tried now. Per tier (one group of every tier with `cross_tier`), a group
    whose keys are all held out, benched or `capped` starts a new cycle: its marks go. Not while one of its keys has a
    cooldown or bench ending within `reset_cooldown`: that key is waited for instead. Keys left out for the
    model (their declared models) are not part of any group."""
    groups: dict[int, list[int]] = {}
    for index, key_id in enumerate(key_ids):
        if key_id not in left_out:
            groups.setdefault(0 if cycle.cross_tier else priorities[index], []).append(index)
    cleared: list[str] = []
    wait_until: float | None = None
    for members in groups.values():
        if not any(key_ids[index] in held for index in members):
            continue
        # A key merely cooling comes back by itself; a benched or capped one may not for long.
        if not all(
            key_ids[index] in held or key_ids[index] in capped or statuses[index].benched_until > now
            for index in members
        ):
            continue
        ready = [max(statuses[index].cooldown_until, statuses[index].benched_until) for index in members]
        soon = [at for at in ready if now < at < now + cycle.reset_cooldown]
        if soon:
            wait_until = min(soon) if wait_until is None else min(wait_until, *soon)
            continue
        cleared += [key_ids[index] for index in members if key_ids[index] in held]
    return Reset(tuple(cleared), wait_until)
