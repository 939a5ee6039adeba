"""Recent activity, in memory: attempts per minute over the last day, each key's last hour, the latest failures.

What the dashboard draws. It is an EventSink on the hot path, so `emit` is O(1) with no lock and no I/O: a
few additions to the row of the current minute in the key's ring of the last hour, and, once a minute per
key, that ring's oldest row folded into its provider's ring of the day. The failures are a bounded deque.
It forgets everything at a restart; the usage book is the durable record.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from keyproxy.events import AttemptEvent

DAY_MINUTES = 24 * 60
"""How far back the per-minute series of each provider reaches."""
KEY_MINUTES = 60
"""The window of each key's success rate and latency."""
FAILURES_KEPT = 200
KEYS_KEPT = 10_000
"""Keys with a window; more (keys added and removed at run time, over and over) fold every window away first."""

Row = list[Any]
"""One minute: [minute, successes, failures, seconds of the successes, first-byte seconds, first bytes seen]."""
_MINUTE, _OK, _FAILED, _SECONDS, _FIRST_BYTE, _FIRST_BYTES = range(6)


def _empty() -> Row:
    return [-1, 0, 0, 0.0, 0.0, 0]


@dataclass(slots=True)
class Totals:
    ok: int = 0
    failed: int = 0
    seconds: float = 0.0
    first_byte: float = 0.0
    first_bytes: int = 0

    def add(self, row: Row) -> None:
        self.ok += row[_OK]
        self.failed += row[_FAILED]
        self.seconds += row[_SECONDS]
        self.first_byte += row[_FIRST_BYTE]
        self.first_bytes += row[_FIRST_BYTES]

    def shown(self) -> dict[str, Any]:
        requests = self.ok + self.failed
        return {
            "requests": requests,
            "failed": self.failed,
            "success_rate": round(self.ok / requests, 4) if requests else None,
            "avg_ms": round(self.seconds / self.ok * 1000, 1) if self.ok else None,
            "avg_first_byte_ms": round(self.first_byte / self.first_bytes * 1000, 1) if self.first_bytes else None,
        }


class ActivityRecorder:
    """An EventSink; `series`, `keys` and `failures` are what GET /v1/admin/activity shows. Time is the events'
    own (`AttemptEvent.at`) and the caller's `now`, so tests drive it with any times they like.

    A minute's counts live in exactly one place: its key's ring while the ring holds it, then its provider's."""

    __slots__ = ("_days", "_failures", "_keys")

    def __init__(self) -> None:
        self._keys: dict[tuple[str, str], list[Row]] = {}
        self._days: dict[str, list[Row]] = {}
        self._failures: deque[AttemptEvent] = deque(maxlen=FAILURES_KEPT)

    def emit(self, event: AttemptEvent) -> None:
        minute = int(event.at) // 60
        ring = self._keys.get((event.provider, event.key_id))
        if ring is None:
            ring = self._ring(event.provider, event.key_id)
        row = ring[minute % KEY_MINUTES]
        if row[_MINUTE] != minute:
            if row[_MINUTE] > minute:
                return  # older than the hour the ring holds
            if row[_MINUTE] >= 0:
                self._fold(event.provider, row)
            row[:] = [minute, 0, 0, 0.0, 0.0, 0]
        if event.outcome is not None:
            row[_FAILED] += 1
            self._failures.append(event)
            return
        row[_OK] += 1
        row[_SECONDS] += event.seconds
        if event.first_byte is not None:
            row[_FIRST_BYTE] += event.first_byte
            row[_FIRST_BYTES] += 1

    def _ring(self, provider: str, key_id: str) -> list[Row]:
        if len(self._keys) >= KEYS_KEPT:
            for (owner, _), ring in self._keys.items():
                for row in ring:
                    if row[_MINUTE] >= 0:
                        self._fold(owner, row)
            self._keys.clear()
        ring = self._keys[(provider, key_id)] = [_empty() for _ in range(KEY_MINUTES)]
        return ring

    def _fold(self, provider: str, row: Row) -> None:
        """Add a minute leaving a key's ring to its provider's ring of the day."""
        day = self._days.get(provider)
        if day is None:
            day = self._days[provider] = [_empty() for _ in range(DAY_MINUTES)]
        minute = row[_MINUTE]
        held = day[minute % DAY_MINUTES]
        if held[_MINUTE] != minute:
            if held[_MINUTE] > minute:
                return  # a day older than what the slot holds
            held[:] = [minute, 0, 0, 0.0, 0.0, 0]
        for field in range(_OK, len(row)):
            held[field] += row[field]

    def series(self, now: float, minutes: int, step: int, provider: str | None = None) -> dict[str, Any]:
        """Attempts in `step`-minute buckets over the last `minutes` (the current minute included), oldest
        first, summed over every provider or for one."""
        last = int(now // 60)
        count = -(-minutes // step)
        first = last - count * step + 1
        buckets = [Totals() for _ in range(count)]
        rings = [ring for (owner, _), ring in self._keys.items() if provider is None or owner == provider]
        rings += [day for owner, day in self._days.items() if provider is None or owner == provider]
        for ring in rings:
            for row in ring:
                if first <= row[_MINUTE] <= last:
                    buckets[(row[_MINUTE] - first) // step].add(row)
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
        for (provider, key_id), ring in self._keys.items():
            totals = Totals()
            for row in ring:
                if last - KEY_MINUTES < row[_MINUTE] <= last:
                    totals.add(row)
            if totals.ok or totals.failed:
                found.setdefault(provider, {})[key_id] = totals.shown()
        return found

    def failures(self, limit: int = FAILURES_KEPT) -> list[AttemptEvent]:
        """The latest failed attempts, newest first."""
        latest = list(self._failures)[-limit:] if limit > 0 else []
        latest.reverse()
        return latest
