"""Recent activity, in memory: attempts per minute over the last day, each key's last hour, the latest failures.

What the dashboard draws. It is an EventSink on the hot path, so `emit` is O(1) (a few list stores in a
ring of minutes, a deque append) with no lock, no I/O and nothing that grows: the rings are allocated once
per provider and key, and the failures are a bounded deque. It forgets everything at a restart; the usage
book is the durable record.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from keyproxy.events import AttemptEvent

DAY_MINUTES = 24 * 60
"""How far back the per-minute series of each provider reaches."""
KEY_MINUTES = 60
"""The window of each key's success rate and latency."""
FAILURES_KEPT = 200
KEYS_KEPT = 10_000
"""Keys with a window; more (keys added and removed at run time, over and over) start the windows again."""


class Minutes:
    """A ring of per-minute sums: slot `m % size` holds minute `m` until a later minute takes it over.

    Parallel lists rather than an object per minute, so a busy minute costs four index stores."""

    __slots__ = ("failed", "first_byte", "first_byte_n", "minute", "ok", "seconds", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.minute = [-1] * size
        self.ok = [0] * size
        self.failed = [0] * size
        self.seconds = [0.0] * size
        """Seconds of the successes, from sending the request to the end of the answer."""
        self.first_byte = [0.0] * size
        self.first_byte_n = [0] * size

    def add(self, minute: int, event: AttemptEvent) -> None:
        slot = minute % self.size
        held = self.minute[slot]
        if held != minute:
            if held > minute:
                return  # older than the window
            self.minute[slot] = minute
            self.ok[slot] = self.failed[slot] = self.first_byte_n[slot] = 0
            self.seconds[slot] = self.first_byte[slot] = 0.0
        if event.outcome is not None:
            self.failed[slot] += 1
            return
        self.ok[slot] += 1
        self.seconds[slot] += event.seconds
        if event.first_byte is not None:
            self.first_byte[slot] += event.first_byte
            self.first_byte_n[slot] += 1

    def slots(self, first: int, last: int) -> Iterator[int]:
        """The slots holding minutes from `first` to `last` (both included)."""
        for slot, minute in enumerate(self.minute):
            if first <= minute <= last:
                yield slot


@dataclass(slots=True)
class Totals:
    ok: int = 0
    failed: int = 0
    seconds: float = 0.0
    first_byte: float = 0.0
    first_byte_n: int = 0

    def add(self, minutes: Minutes, slot: int) -> None:
        self.ok += minutes.ok[slot]
        self.failed += minutes.failed[slot]
        self.seconds += minutes.seconds[slot]
        self.first_byte += minutes.first_byte[slot]
        self.first_byte_n += minutes.first_byte_n[slot]

    def shown(self) -> dict[str, Any]:
        requests = self.ok + self.failed
        return {
            "requests": requests,
            "failed": self.failed,
            "success_rate": round(self.ok / requests, 4) if requests else None,
            "avg_ms": round(self.seconds / self.ok * 1000, 1) if self.ok else None,
            "avg_first_byte_ms": round(self.first_byte / self.first_byte_n * 1000, 1) if self.first_byte_n else None,
        }


class ActivityRecorder:
    """An EventSink; `snapshot(now, ...)` is what GET /v1/admin/activity shows. The clock is the events' own
    (`AttemptEvent.at`) and the caller's `now`, so tests drive it with any times they like."""

    __slots__ = ("_failures", "_keys", "_providers")

    def __init__(self) -> None:
        self._providers: dict[str, Minutes] = {}
        self._keys: dict[tuple[str, str], Minutes] = {}
        self._failures: deque[AttemptEvent] = deque(maxlen=FAILURES_KEPT)

    def emit(self, event: AttemptEvent) -> None:
        minute = int(event.at // 60)
        series = self._providers.get(event.provider)
        if series is None:
            series = self._providers[event.provider] = Minutes(DAY_MINUTES)
        series.add(minute, event)
        where = (event.provider, event.key_id)
        window = self._keys.get(where)
        if window is None:
            if len(self._keys) >= KEYS_KEPT:
                self._keys.clear()
            window = self._keys[where] = Minutes(KEY_MINUTES)
        window.add(minute, event)
        if event.outcome is not None:
            self._failures.append(event)

    def series(self, now: float, minutes: int, step: int, provider: str | None = None) -> dict[str, Any]:
        """Attempts in `step`-minute buckets over the last `minutes` (the current minute included), oldest
        first, summed over every provider or for one."""
        last = int(now // 60)
        count = -(-minutes // step)
        first = last - count * step + 1
        buckets = [Totals() for _ in range(count)]
        for name, rings in self._providers.items():
            if provider is None or name == provider:
                for slot in rings.slots(first, last):
                    buckets[(rings.minute[slot] - first) // step].add(rings, slot)
        shown = [bucket.shown() for bucket in buckets]
        return {
            "start": first * 60,
            "step_seconds": step * 60,
            "ok": [b["requests"] - b["failed"] for b in shown],
            "failed": [b["failed"] for b in shown],
            "avg_ms": [b["avg_ms"] for b in shown],
        }

    def keys(self, now: float) -> dict[str, dict[str, dict[str, Any]]]:
        """Each key's attempts over the last KEY_MINUTES, by provider and fingerprint."""
        last = int(now // 60)
        found: dict[str, dict[str, dict[str, Any]]] = {}
        for (provider, key_id), window in self._keys.items():
            totals = Totals()
            for slot in window.slots(last - KEY_MINUTES + 1, last):
                totals.add(window, slot)
            if totals.ok or totals.failed:
                found.setdefault(provider, {})[key_id] = totals.shown()
        return found

    def failures(self, limit: int = FAILURES_KEPT) -> list[AttemptEvent]:
        """The latest failed attempts, newest first."""
        latest = list(self._failures)[-limit:] if limit > 0 else []
        latest.reverse()
        return latest
