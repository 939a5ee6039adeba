"""Keys held out of a model beyond their cooldowns: by the fair cycle and by custom caps, each off unless configured.

The router asks once per request (`held`), again when no key can be tried (`settle`: a fair cycle may reset), and
tells of each attempt started (`started`) and each failure's verdict (`failed`). The policies are pure
(engine/fair_cycle.py, engine/caps.py); this sequences them with the state store.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from keyproxy.clock import Clock
from keyproxy.engine import fair_cycle
from keyproxy.engine.caps import CapLedger
from keyproxy.engine.pool import Pool
from keyproxy.providers import Call
from keyproxy.state.base import KeyStatus, StateStore, Verdict

_NONE: frozenset[str] = frozenset()
_GROUP = "group:"


@dataclass(frozen=True, slots=True)
class Held:
    """`fair`: the keys the fair cycle holds out; `capped`: those a cap does, the first back at `until`."""

    fair: frozenset[str] = _NONE
    capped: frozenset[str] = _NONE
    until: float | None = None

    @property
    def keys(self) -> frozenset[str]:
        return self.fair | self.capped if self.fair and self.capped else self.fair or self.capped


NOTHING_HELD = Held()


@dataclass(frozen=True, slots=True)
class HeldOut:
    """For status: one key held out of `model` (a model, `group:<name>`, or `*` for every model) until `until`, by
    the fair cycle (at the latest: it may reset sooner, when the other keys are exhausted too) or a custom cap."""

    key_id: str
    by: Literal["fair_cycle", "custom_cap"]
    model: str
    until: float


def earliest(first: float | None, second: float | None) -> float | None:
    if first is None:
        return second
    return first if second is None else min(first, second)


class Holds:
    def __init__(self, state: StateStore, clock: Clock) -> None:
        self.state = state
        self.clock = clock
        self.caps = CapLedger()

    async def held(self, pool: Pool, call: Call, bucket: str) -> Held:
        """A call pinned to one key (a stored response's) is never held out by the fair cycle: there is no other
        key whose turn it would be. Its caps still apply."""
        if pool.fair is None and pool.caps is None:
            return NOTHING_HELD
        now = self.clock.now()
        fair = capped = _NONE
        until: float | None = None
        model = call.model
        if pool.fair is not None and call.key_id is None:
            marks = await self.state.cycle(pool.name, fair_cycle.tracking(pool.fair, bucket))
            fair = fair_cycle.held_out(pool.fair, marks, now)
        if pool.caps is not None:
            ledger = self.caps
            if ledger.due(pool.name, now):
                # The first look at a provider's caps waits for the day's usage, so a restart forgets no count.
                if ledger.seen(pool.name):
                    ledger.refresh_later(self.state, pool.name, pool.groups, now)
                else:
                    await ledger.refresh(self.state, pool.name, pool.groups, now)
            group = bucket.removeprefix(_GROUP) if bucket.startswith(_GROUP) else None
            capped, until = ledger.held(pool.caps, pool.name, pool.key_ids, pool.priorities, model, group, now)
        return Held(fair, capped, until) if fair or capped else NOTHING_HELD

    async def settle(
        self, pool: Pool, call: Call, bucket: str, held: Held, statuses: Sequence[KeyStatus], now: float,
        left_out: Collection[str],
    ) -> tuple[Held, float | None] | None:  # fmt: skip
        """No key could be tried. None when a fair cycle reset (choose again, on the new holds); else the holds
        and the earliest instant a held key may come back (a cap ending, a cooldown the reset waits for)."""
        if pool.fair is None or call.key_id is not None:
            return held, held.until
        # Read again: this request's own failures may have marked keys since it began.
        held = await self.held(pool, call, bucket)
        if not held.fair:
            return held, held.until
        reset = fair_cycle.reset(
            pool.fair, held.fair, pool.key_ids, pool.priorities, statuses, now, left_out=left_out, capped=held.capped
        )
        if not reset.key_ids:
            return held, earliest(held.until, reset.wait_until)
        await self.state.reset_cycle(pool.name, fair_cycle.tracking(pool.fair, bucket), reset.key_ids, now)
        return None

    def started(self, pool: Pool, index: int, model: str, bucket: str, now: float) -> None:
        """An attempt began on key `index`: it counts toward the caps on its model and group."""
        assert pool.caps is not None
        group = bucket.removeprefix(_GROUP) if bucket.startswith(_GROUP) else None
        capped = pool.caps.applying(pool.priorities[index], model, group)
        if capped:
            self.caps.count(pool.name, pool.key_ids[index], [name for name, _, _ in capped], now)

    async def failed(self, pool: Pool, key_id: str, bucket: str, verdict: Verdict, now: float) -> None:
        fair = pool.fair
        if fair is not None and fair_cycle.exhausts(fair, verdict, now):
            await self.state.exhaust(pool.name, fair_cycle.tracking(fair, bucket), key_id, now, fair.duration)

    async def report(self, pool: Pool, now: float) -> list[HeldOut]:
        """Which keys are held out of what now, for `keyproxy status`: the store's cycles and this instance's cap
        counts, read without changing them, so no request sees the difference."""
        found: list[HeldOut] = []
        fair = pool.fair
        if fair is not None:
            for tracking, marks in sorted((await self.state.cycles(pool.name)).items()):
                until = marks.start + fair.duration
                found += [
                    HeldOut(key, "fair_cycle", tracking, until) for key in sorted(fair_cycle.held_out(fair, marks, now))
                ]
        if pool.caps is not None:
            held = self.caps.holding(pool.caps, pool.name, pool.key_ids, pool.priorities, now)
            found += [HeldOut(key, "custom_cap", counter, until) for key, counter, until in held]
        return found
