"""State kept in this process only: the default until a durable store is configured."""

from __future__ import annotations

from collections.abc import Sequence

from keyproxy.state.base import KeyStatus, Verdict


class MemoryStore:
    def __init__(self) -> None:
        self._cooldowns: dict[tuple[str, str, str], float] = {}
        self._benched: dict[tuple[str, str], float] = {}
        self._failures: dict[tuple[str, str, str], int] = {}
        self._in_flight: dict[tuple[str, str], int] = {}

    async def statuses(self, provider: str, key_ids: Sequence[str], model: str) -> list[KeyStatus]:
        return [
            KeyStatus(
                key_id=key_id,
                cooldown_until=self._cooldowns.get((provider, key_id, model), 0.0),
                benched_until=self._benched.get((provider, key_id), 0.0),
                in_flight=self._in_flight.get((provider, key_id), 0),
                failures=self._failures.get((provider, key_id, model), 0),
            )
            for key_id in key_ids
        ]

    async def record(self, provider: str, key_id: str, model: str, verdict: Verdict) -> None:
        slot = (provider, key_id, model)
        if verdict.reason is None:
            self._failures.pop(slot, None)
            self._cooldowns.pop(slot, None)
            self._benched.pop((provider, key_id), None)
            return
        self._failures[slot] = self._failures.get(slot, 0) + 1
        if verdict.scope == "key":
            self._benched[(provider, key_id)] = verdict.until
        elif verdict.scope == "model":
            self._cooldowns[slot] = max(verdict.until, self._cooldowns.get(slot, 0.0))

    async def acquire(self, provider: str, key_id: str) -> None:
        self._in_flight[(provider, key_id)] = self._in_flight.get((provider, key_id), 0) + 1

    async def release(self, provider: str, key_id: str) -> None:
        count = self._in_flight.get((provider, key_id), 0) - 1
        if count > 0:
            self._in_flight[(provider, key_id)] = count
        else:
            self._in_flight.pop((provider, key_id), None)
