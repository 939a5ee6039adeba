"""Writes to Redis that need not hold up a request: gathered here, sent together in one pipeline."""

from __future__ import annotations

from typing import Any

Command = tuple[Any, ...]


class Outbox:
    """Slot releases, counted per in-flight counter (they commute: any later round trip may carry them),
    and other writes (successes, headroom) kept in the order they were made."""

    __slots__ = ("_releases", "_writes")

    def __init__(self) -> None:
        self._releases: dict[str, int] = {}
        self._writes: list[Command] = []

    def __bool__(self) -> bool:
        return bool(self._releases or self._writes)

    @property
    def has_writes(self) -> bool:
        return bool(self._writes)

    def release(self, counter: str) -> None:
        self._releases[counter] = self._releases.get(counter, 0) + 1

    def write(self, *command: Any) -> None:
        self._writes.append(command)

    def take_releases(self) -> tuple[list[str], list[int]]:
        """The counters and how many slots each gives back, now off the outbox."""
        releases = self._releases
        if not releases:
            return [], []
        self._releases = {}
        return list(releases), list(releases.values())

    def take_writes(self) -> list[Command]:
        writes, self._writes = self._writes, []
        return writes

    def clear(self) -> None:
        self._releases, self._writes = {}, []
