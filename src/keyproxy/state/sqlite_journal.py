"""State changes waiting to be written: cooldowns, benches, sticky keys, fair cycles, when keys were last used,
and stored responses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from keyproxy.errors import ErrorClass


@dataclass(frozen=True, slots=True)
class CooldownSet:
    provider: str
    key_id: str
    model: str
    until: float
    reason: ErrorClass
    failures: int


@dataclass(frozen=True, slots=True)
class CooldownCleared:
    provider: str
    key_id: str
    model: str


@dataclass(frozen=True, slots=True)
class BenchSet:
    provider: str
    key_id: str
    until: float
    reason: ErrorClass


@dataclass(frozen=True, slots=True)
class BenchCleared:
    provider: str
    key_id: str


@dataclass(frozen=True, slots=True)
class StickySet:
    provider: str
    model: str
    key_id: str


@dataclass(frozen=True, slots=True)
class CycleSet:
    """A fair cycle as it now is, written whole: `exhausted` (key id, when) empty when it ended."""

    provider: str
    tracking: str
    start: float
    exhausted: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class Touched:
    """The key took a request at `at`: how pruning tells keys in use from keys long gone."""

    provider: str
    key_id: str
    at: float


@dataclass(frozen=True, slots=True)
class Lifted:
    """An operator cleared every cooldown and bench of one key, or of every key of the provider (None)."""

    provider: str
    key_id: str | None


@dataclass(frozen=True, slots=True)
class ResponseStored:
    """A Responses-API response kept until `expires_at` (its record is opaque to the store)."""

    response_id: str
    record: bytes
    expires_at: float


@dataclass(frozen=True, slots=True)
class ResponseDeleted:
    response_id: str


Change = (
    CooldownSet | CooldownCleared | BenchSet | BenchCleared | StickySet | CycleSet | Touched | Lifted
    | ResponseStored | ResponseDeleted
)  # fmt: skip


class Journal:
    """Changes in the order they happened. Touches come once per request, so only the latest per key
    is kept; their order does not matter because the writer keeps the maximum."""

    def __init__(self) -> None:
        self._changes: list[Change] = []
        self._touched: dict[tuple[str, str], float] = {}

    def add(self, change: Change) -> None:
        self._changes.append(change)

    def touch(self, provider: str, key_id: str, at: float) -> None:
        self._touched[(provider, key_id)] = at

    def __len__(self) -> int:
        return len(self._changes) + len(self._touched)

    def drain(self) -> tuple[Change, ...]:
        changes, self._changes = self._changes, []
        touched, self._touched = self._touched, {}
        return (*changes, *(Touched(provider, key_id, at) for (provider, key_id), at in touched.items()))

    def restore(self, changes: Sequence[Change]) -> None:
        """Put back changes that could not be written, ahead of the ones made since."""
        self._changes[:0] = changes
