"""Custom request caps (CUSTOM_CAP_<P>_T<tier>_<model>): a key of a tier takes at most so many requests for a model
or quota group per UTC day, the usage book's window, then is left out of it for a while (docs/resilience.md).

The counts are this instance's, topped up from the store's usage of the day (every instance's, with Redis) when a
provider with caps is first asked and every `REFRESH` seconds after, in the background.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from keyproxy.config.settings import CustomCap
from keyproxy.state.base import StateStore

logger = logging.getLogger("keyproxy.caps")

UNKNOWN_LIMIT_PERCENT = 1000
"""What a percentage cap allows when the window's limit is unknown, which it always is here, as in the old proxy."""

REFRESH = 15.0
"""Seconds between two reads of the day's usage from the store, per provider with caps."""

_DAY = 86400.0
_GROUP = "group:"
_NONE: frozenset[str] = frozenset()
_REMEMBERED = 1024


def normal(name: str) -> str:
    """A model name as a cap's variable can spell it: lower case, `-` for `_`, `.`, `/` and `:`."""
    return name.lower().replace("_", "-").replace(".", "-").replace("/", "-").replace(":", "-")


def most(cap: CustomCap) -> int:
    """The requests a cap allows per window. The window's own limit is never known (the usage book's day is not a
    provider's window): an offset then allows its size, a percentage `UNKNOWN_LIMIT_PERCENT`, as in the old proxy."""
    if cap.kind == "absolute":
        return max(0, cap.value)
    if cap.kind == "offset":
        return abs(cap.value)
    return UNKNOWN_LIMIT_PERCENT


def blocked_until(cap: CustomCap, now: float, day_end: float) -> float:
    """When a key that reached its cap at `now` may take requests again."""
    if cap.cooldown == "fixed":
        return now + cap.cooldown_seconds
    if cap.cooldown == "offset":
        return day_end + max(0, cap.cooldown_seconds)
    return day_end


Applying = tuple[str, CustomCap, int]


@dataclass(frozen=True, slots=True)
class CapTable:
    """A provider's caps by (tier, target); tier None is TDEFAULT, for tiers without a cap of their own."""

    caps: dict[tuple[int | None, str], CustomCap]
    _found: dict[tuple[int, str, str | None], tuple[Applying, ...]] = field(default_factory=dict)
    """`applying`'s answers: a request asks for every key, and keys share a few tiers."""

    @classmethod
    def build(cls, caps: Sequence[CustomCap]) -> CapTable | None:
        return cls({(cap.tier, normal(cap.target)): cap for cap in caps}) if caps else None

    def applying(self, tier: int, model: str, group: str | None) -> tuple[Applying, ...]:
        """(counter name, cap, requests it allows) of each cap on a request for `model` (in quota `group`) by a key
        of `tier`: the model's and the group's apply independently, as in the old proxy."""
        found = self._found.get((tier, model, group))
        if found is not None:
            return found
        if len(self._found) >= _REMEMBERED:
            self._found.clear()  # model names come from clients: start over rather than grow
        answer = []
        for name, target in ((normal(model), normal(model)), *(((_GROUP + group, normal(group)),) if group else ())):
            cap = self.caps.get((tier, target)) or self.caps.get((None, target))
            if cap is not None:
                answer.append((name, cap, most(cap)))
        found = self._found[(tier, model, group)] = tuple(answer)
        return found


class CapLedger:
    """Requests per (provider, key, model or group) today, and the keys left out because of a cap, with until when
    and the count they had then (a fixed cooldown counts afresh from its end)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, str], int] = {}
        self._blocks: dict[tuple[str, str, str], tuple[float, int]] = {}
        self._day_end = 0.0
        self._refreshed: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def _roll(self, now: float) -> None:
        if now < self._day_end:
            return
        self._day_end = now - now % _DAY + _DAY
        self._counts.clear()
        # A block past the day's end (offset) outlives it, counting from zero.
        self._blocks = {slot: (until, 0) for slot, (until, _) in self._blocks.items() if until > now}

    def count(self, provider: str, key_id: str, names: Sequence[str], now: float) -> None:
        """A request started on the key for these counters (the model's, its group's)."""
        self._roll(now)
        counts = self._counts
        for name in names:
            slot = (provider, key_id, name)
            counts[slot] = counts.get(slot, 0) + 1

    def held(
        self, table: CapTable, provider: str, key_ids: Sequence[str], priorities: Sequence[int], model: str,
        group: str | None, now: float,
    ) -> tuple[frozenset[str], float | None]:  # fmt: skip
        """The keys a cap leaves out of `model` now, and the earliest instant one of them comes back."""
        if now >= self._day_end:
            self._roll(now)
        held: set[str] = set()
        back: float | None = None
        applying, counts, blocks = table.applying, self._counts, self._blocks
        for key_id, tier in zip(key_ids, priorities, strict=True):
            for name, cap, limit in applying(tier, model, group):
                slot = (provider, key_id, name)
                if not blocks and counts.get(slot, 0) < limit:
                    continue  # the common case: under the cap, never capped today
                until = self._until(slot, cap, limit, now)
                if until is not None:
                    held.add(key_id)
                    back = until if back is None else min(back, until)
        return (frozenset(held), back) if held else (_NONE, None)

    def _until(self, slot: tuple[str, str, str], cap: CustomCap, limit: int, now: float) -> float | None:
        count = self._counts.get(slot, 0)
        base = 0
        block = self._blocks.get(slot)
        if block is not None:
            if now < block[0]:
                return block[0]
            base = block[1]
        if count - base < limit:
            return None
        until = blocked_until(cap, now, self._day_end)
        self._blocks[slot] = (until, count)
        return until if until > now else None

    def holding(
        self, table: CapTable, provider: str, key_ids: Sequence[str], priorities: Sequence[int], now: float
    ) -> list[tuple[str, str, float]]:
        """(key, counter, until) of each cap holding one of the keys out now, for status: what a request would find,
        without counting or recording anything."""
        tiers = dict(zip(key_ids, priorities, strict=True))
        rolled = now >= self._day_end
        found = []
        for slot in sorted({*self._counts, *self._blocks}):
            if slot[0] != provider or slot[1] not in tiers:
                continue
            target = normal(slot[2].removeprefix(_GROUP))
            cap = table.caps.get((tiers[slot[1]], target)) or table.caps.get((None, target))
            if cap is None:
                continue
            until, base = self._blocks.get(slot, (0.0, 0))
            if until <= now:
                # The day's counts are gone once it ends, however long ago the last request was.
                count = 0 if rolled else self._counts.get(slot, 0) - base
                until = blocked_until(cap, now, self._day_end) if count >= most(cap) else 0.0
            if until > now:
                found.append((slot[1], slot[2], until))
        return found

    def seen(self, provider: str) -> bool:
        """Whether the day's usage was read (or is being read) for the provider's caps."""
        return provider in self._refreshed

    def due(self, provider: str, now: float) -> bool:
        return now >= self._refreshed.get(provider, 0.0)

    async def refresh(self, state: StateStore, provider: str, groups: dict[str, str], now: float) -> None:
        """Top the counts up with the store's usage of the day (`groups`: model -> its group's bucket)."""
        self._refreshed[provider] = now + REFRESH
        day = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
        stored: dict[tuple[str, str, str], int] = {}
        for row, counters in await state.usage(provider, since=day, until=day):
            names = [normal(row.model)]
            group = groups.get(row.model)
            if group is not None:
                names.append(group)
            for name in names:
                slot = (provider, row.key_id, name)
                stored[slot] = stored.get(slot, 0) + counters.requests
        self._roll(now)
        for slot, requests in stored.items():
            if requests > self._counts.get(slot, 0):
                self._counts[slot] = requests

    def refresh_later(self, state: StateStore, provider: str, groups: dict[str, str], now: float) -> None:
        """`refresh` in the background: a request never waits for the usage query after the first."""
        self._refreshed[provider] = now + REFRESH
        task = asyncio.get_running_loop().create_task(self.refresh(state, provider, groups, now))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            # The counts stay as they were; the next refresh tries again.
            logger.warning("cannot read the day's usage for custom caps: %s", error)
