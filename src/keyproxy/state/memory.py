"""State, usage and stored responses kept in this process only: lost at exit (KEYPROXY_STATE=memory)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from keyproxy.clock import Clock
from keyproxy.errors import ErrorClass
from keyproxy.events import AttemptEvent
from keyproxy.state.base import NO_MARKS, Cooldown, CycleMarks, KeyReport, KeyStatus, Verdict, marked, unmarked
from keyproxy.usage.book import UsageBook, UsageRows, select


@dataclass(slots=True)
class _Key:
    benched_until: float = 0.0
    bench_reason: ErrorClass | None = None
    in_flight: int = 0
    usage: float = 0.0
    last_used: float = 0.0


@dataclass(slots=True)
class _Scoped:
    cooldown_until: float = 0.0
    reason: ErrorClass | None = None
    failures: int = 0
    headroom: float | None = None
    headroom_reset: float = 0.0


SCOPED_LIMIT = 100_000
"""Per-model state entries (cooldowns, failure streaks, headroom; sticky keys) and conversations kept at
most: a client inventing model names or conversations cannot grow them without bound, and past it the
oldest entry goes first."""


class MemoryStore:
    """Usage is what `book` has counted since start; it is never drained, since nothing writes it out."""

    def __init__(self, book: UsageBook | None = None) -> None:
        self._book = book if book is not None else UsageBook()
        self._keys: dict[tuple[str, str], _Key] = {}
        self._scoped: dict[tuple[str, str, str], _Scoped] = {}
        self._sticky: dict[tuple[str, str], str] = {}
        self._affinity: dict[tuple[str, str], tuple[str, float]] = {}
        self._cycles: dict[tuple[str, str], CycleMarks] = {}
        # In the order they were put, which is (nearly) the order they expire in: pruning looks at the front.
        self._responses: dict[str, tuple[bytes, float]] = {}

    async def start(self, clock: Clock) -> None:
        """Nothing to open or load: everything lives in this object."""

    async def stop(self) -> None:
        """Nothing to write: state and usage end with the process."""

    def emit(self, event: AttemptEvent) -> None:
        self._book.emit(event)

    async def usage(
        self, provider: str | None = None, model: str | None = None, since: str | None = None, until: str | None = None
    ) -> UsageRows:
        return select(self._book.pending().items(), provider, model, since, until)

    def _slot(self, provider: str, key_id: str, model: str) -> _Scoped:
        slot = self._scoped.get((provider, key_id, model))
        if slot is None:
            if len(self._scoped) >= SCOPED_LIMIT:
                del self._scoped[next(iter(self._scoped))]
            slot = self._scoped[(provider, key_id, model)] = _Scoped()
        return slot

    def _key(self, provider: str, key_id: str) -> _Key:
        found = self._keys.get((provider, key_id))
        if found is None:
            found = self._keys[(provider, key_id)] = _Key()
        return found

    def cooldown_of(self, provider: str, key_id: str, model: str) -> tuple[float, ErrorClass | None, int]:
        """The cooldown's end and reason and the failure streak, for stores that persist changes."""
        slot = self._scoped.get((provider, key_id, model))
        return (0.0, None, 0) if slot is None else (slot.cooldown_until, slot.reason, slot.failures)

    def bench_of(self, provider: str, key_id: str) -> tuple[float, ErrorClass | None]:
        key = self._keys.get((provider, key_id))
        return (0.0, None) if key is None else (key.benched_until, key.bench_reason)

    def put_cooldown(
        self, provider: str, key_id: str, model: str, until: float, reason: ErrorClass, failures: int
    ) -> None:
        """Restore a persisted cooldown as it was."""
        slot = self._slot(provider, key_id, model)
        slot.cooldown_until, slot.reason, slot.failures = until, reason, failures

    def put_bench(self, provider: str, key_id: str, until: float, reason: ErrorClass) -> None:
        """Restore a persisted bench as it was."""
        key = self._key(provider, key_id)
        key.benched_until, key.bench_reason = until, reason

    async def statuses(
        self, provider: str, key_ids: Sequence[str], model: str, *, recent: bool = False
    ) -> list[KeyStatus]:
        keys, scoped = self._keys, self._scoped
        result = []
        for key_id in key_ids:
            key = keys.get((provider, key_id))
            slot = scoped.get((provider, key_id, model))
            if key is None and slot is None:
                result.append(KeyStatus(key_id))
                continue
            key = key or _Key()
            slot = slot or _Scoped()
            result.append(
                KeyStatus(
                    key_id, slot.cooldown_until, key.benched_until, key.in_flight, slot.failures,
                    key.usage, key.last_used, slot.headroom, slot.headroom_reset,
                )
            )
        return result

    async def record(self, provider: str, key_id: str, model: str, verdict: Verdict) -> None:
        if verdict.reason is None:
            slot = self._scoped.get((provider, key_id, model))
            if slot is not None:
                slot.failures, slot.cooldown_until, slot.reason = 0, 0.0, None
            key = self._keys.get((provider, key_id))
            if key is not None:
                key.benched_until, key.bench_reason = 0.0, None
            return
        slot = self._slot(provider, key_id, model)
        slot.failures += 1
        if verdict.kind == "key":
            key = self._key(provider, key_id)
            key.benched_until, key.bench_reason = verdict.until, verdict.reason
        elif verdict.kind == "model" and verdict.until >= slot.cooldown_until:
            slot.cooldown_until, slot.reason = verdict.until, verdict.reason

    async def acquire(
        self, provider: str, key_id: str, usage: float, now: float, cap: int | None = None, *, model: str | None = None
    ) -> bool:
        key = self._key(provider, key_id)
        if cap is not None and key.in_flight >= cap:
            return False
        key.in_flight += 1
        key.usage, key.last_used = usage, now
        return True

    async def release(self, provider: str, key_id: str) -> None:
        key = self._keys.get((provider, key_id))
        if key is not None and key.in_flight > 0:
            key.in_flight -= 1

    async def observe_headroom(
        self, provider: str, key_id: str, model: str, fraction: float | None, reset_at: float
    ) -> None:
        slot = self._slot(provider, key_id, model)
        slot.headroom, slot.headroom_reset = fraction, reset_at

    async def sticky(self, provider: str, model: str) -> str | None:
        return self._sticky.get((provider, model))

    async def set_sticky(self, provider: str, model: str, key_id: str) -> None:
        if (provider, model) not in self._sticky and len(self._sticky) >= SCOPED_LIMIT:
            del self._sticky[next(iter(self._sticky))]
        self._sticky[(provider, model)] = key_id

    async def affinity(self, provider: str, conversation: str, now: float) -> str | None:
        found = self._affinity.get((provider, conversation))
        return found[0] if found is not None and found[1] > now else None

    async def set_affinity(self, provider: str, conversation: str, key_id: str, until: float) -> None:
        remembered = self._affinity
        # Re-inserted, so the front holds the conversations least recently moved: the first to go.
        remembered.pop((provider, conversation), None)
        if len(remembered) >= SCOPED_LIMIT:
            del remembered[next(iter(remembered))]
        remembered[(provider, conversation)] = (key_id, until)

    async def report(self, provider: str, key_ids: Sequence[str], now: float) -> list[KeyReport]:
        reports = []
        for key_id in key_ids:
            key = self._keys.get((provider, key_id)) or _Key()
            cooldowns = tuple(
                Cooldown(model, slot.cooldown_until, slot.reason)
                for (p, k, model), slot in self._scoped.items()
                if p == provider and k == key_id and slot.cooldown_until > now and slot.reason is not None
            )
            benched = key.benched_until if key.benched_until > now else 0.0
            reports.append(
                KeyReport(
                    key_id, benched, key.bench_reason if benched else None, cooldowns, key.in_flight,
                    key.usage, key.last_used,
                )
            )
        return reports

    async def clear(self, provider: str, key_id: str | None = None) -> int:
        lifted = 0
        for (p, k), key in self._keys.items():
            if p == provider and key_id in (None, k) and key.benched_until:
                key.benched_until, key.bench_reason = 0.0, None
                lifted += 1
        for (p, k, _), slot in self._scoped.items():
            if p == provider and key_id in (None, k) and slot.cooldown_until:
                slot.cooldown_until, slot.reason, slot.failures = 0.0, None, 0
                lifted += 1
        # A key cleared by hand is back in rotation: its fair-cycle marks go too.
        for p, tracking in [found for found in self._cycles if found[0] == provider]:
            marks = self._cycles[(p, tracking)]
            self.put_cycle(p, tracking, unmarked(marks, tuple(marks.exhausted) if key_id is None else (key_id,)))
        return lifted

    async def cycle(self, provider: str, tracking: str) -> CycleMarks:
        return self._cycles.get((provider, tracking), NO_MARKS)

    async def cycles(self, provider: str) -> dict[str, CycleMarks]:
        return {tracking: marks for (p, tracking), marks in self._cycles.items() if p == provider}

    async def exhaust(self, provider: str, tracking: str, key_id: str, now: float, duration: float) -> None:
        self.put_cycle(provider, tracking, marked(await self.cycle(provider, tracking), key_id, now, duration))

    async def reset_cycle(self, provider: str, tracking: str, key_ids: Sequence[str], now: float) -> None:
        self.put_cycle(provider, tracking, unmarked(await self.cycle(provider, tracking), key_ids))

    def put_cycle(self, provider: str, tracking: str, marks: CycleMarks) -> None:
        """Replace a fair cycle whole (also to restore a persisted one); an empty one is forgotten."""
        cycles = self._cycles
        if not marks.exhausted:
            cycles.pop((provider, tracking), None)
            return
        if (provider, tracking) not in cycles and len(cycles) >= SCOPED_LIMIT:
            del cycles[next(iter(cycles))]
        cycles[(provider, tracking)] = marks

    async def put_response(self, response_id: str, record: bytes, now: float, expires_at: float) -> None:
        self._responses.pop(response_id, None)
        self._responses[response_id] = (record, expires_at)
        self._prune_responses(now)

    async def get_response(self, response_id: str, now: float) -> bytes | None:
        found = self._responses.get(response_id)
        return found[0] if found is not None and found[1] > now else None

    async def delete_response(self, response_id: str, now: float) -> bool:
        found = self._responses.pop(response_id, None)
        return found is not None and found[1] > now

    def _prune_responses(self, now: float) -> None:
        """Drop expired responses from the front; a few with a later expiry ahead of them wait for their turn."""
        responses = self._responses
        while responses:
            oldest = next(iter(responses))
            if responses[oldest][1] > now:
                return
            del responses[oldest]
