"""The usage counters, declared once: the SQLite columns, the Redis hash fields and the usage report's JSON
all follow the fields of UsageCounters. A new counter is one field here plus a migration adding its column."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, get_type_hints

from keyproxy.errors import ErrorClass

FAILURE_COUNTERS: Mapping[str, str] = MappingProxyType(
    {reason.value: f"failed_{reason.value}" for reason in ErrorClass}
)
"""ErrorClass value -> the flat name of its failure count; a new class, like a new counter, needs a migration."""


class Merge(enum.Enum):
    """How two counts of the same row combine, in memory, in SQL and in Redis."""

    SUM = "sum"
    LATEST = "latest"
    """The larger wins: for a time, the latest."""


@dataclass(frozen=True, slots=True)
class Counter:
    """How one field of UsageCounters is kept and shown."""

    merge: Merge = Merge.SUM
    shown: bool = True
    """False for the sums behind an average: the report shows the average instead."""
    shown_as: str = ""
    """Its key in the report when not the field's name."""
    places: int | None = None
    """Rounded to this many decimals in the report."""
    zero_is_null: bool = False
    """For a time that is 0 until the first attempt: the report shows null until then."""
    by_class: bool = False
    """A dict by ErrorClass value, kept as one flat count per class (FAILURE_COUNTERS)."""


_SUMMED = Counter()


def _counter(default: float, spec: Counter = _SUMMED) -> Any:
    return field(default=default, metadata={Counter: spec})


@dataclass(slots=True)
class UsageCounters:
    """Sums and counts only, so two of them add up and averages can be computed at read time."""

    requests: int = _counter(0)
    successes: int = _counter(0)
    failures: dict[str, int] = field(default_factory=dict, metadata={Counter: Counter(by_class=True)})
    """By ErrorClass value."""
    prompt_tokens: int = _counter(0)
    completion_tokens: int = _counter(0)
    cached_tokens: int = _counter(0)
    reasoning_tokens: int = _counter(0)
    estimated: int = _counter(0, Counter(shown_as="estimated_requests"))
    """Requests whose tokens were estimated because the upstream reported none."""
    cost_usd: float = _counter(0.0, Counter(places=6))
    last_used: float = _counter(0.0, Counter(Merge.LATEST, zero_is_null=True))
    first_byte_sum: float = _counter(0.0, Counter(shown=False))
    first_byte_count: int = _counter(0, Counter(shown=False))
    seconds_sum: float = _counter(0.0, Counter(shown=False))
    """Total seconds of every request; the average is seconds_sum / requests."""

    def add(self, other: UsageCounters) -> None:
        for name, spec in _SPECS:
            mine, theirs = getattr(self, name), getattr(other, name)
            if spec.by_class:
                for reason, count in theirs.items():
                    mine[reason] = mine.get(reason, 0) + count
            elif spec.merge is Merge.LATEST:
                setattr(self, name, max(mine, theirs))
            else:
                setattr(self, name, mine + theirs)

    def copy(self) -> UsageCounters:
        copied = dataclasses.replace(self)
        for name, spec in _SPECS:
            if spec.by_class:
                setattr(copied, name, dict(getattr(self, name)))
        return copied

    def flat(self) -> dict[str, int | float]:
        """Every flat count by name, zeros included: a SQLite row's columns."""
        values: dict[str, int | float] = {}
        for name, spec in _SPECS:
            value = getattr(self, name)
            if spec.by_class:
                values.update({flat: value.get(reason, 0) for reason, flat in FAILURE_COUNTERS.items()})
            else:
                values[name] = value
        return values

    @classmethod
    def from_flat(cls, values: Mapping[str, Any]) -> UsageCounters:
        """Counters from flat counts, as numbers or as Redis' strings; a count not in `values` is 0."""
        counters = cls()
        for name, spec in _SPECS:
            if spec.by_class:
                counts = {reason: int(values.get(flat, 0)) for reason, flat in FAILURE_COUNTERS.items()}
                setattr(counters, name, {reason: count for reason, count in counts.items() if count})
            elif name in values:
                setattr(counters, name, _KINDS[name](values[name]))
        return counters


@dataclass(frozen=True, slots=True)
class FlatCounter:
    """One stored count: a SQLite column and a Redis hash field, both under `name`."""

    name: str
    kind: type[int] | type[float]
    merge: Merge


_SPECS: tuple[tuple[str, Counter], ...] = tuple(
    (declared.name, declared.metadata[Counter]) for declared in dataclasses.fields(UsageCounters)
)
_KINDS: Mapping[str, type[int] | type[float]] = {
    name: kind for name, kind in get_type_hints(UsageCounters).items() if kind in (int, float)
}

FLAT_COUNTERS: tuple[FlatCounter, ...] = tuple(
    counter
    for name, spec in _SPECS
    for counter in (
        [FlatCounter(flat, int, spec.merge) for flat in FAILURE_COUNTERS.values()]
        if spec.by_class
        else [FlatCounter(name, _KINDS[name], spec.merge)]
    )
)
"""In declaration order, a dict by class expanded in ErrorClass order."""


def report(counters: UsageCounters) -> dict[str, Any]:
    """One model's counters as GET /v1/usage and `keyproxy usage` show them: every shown counter, then
    the averages of the sums that are not shown."""
    shape: dict[str, Any] = {}
    for name, spec in _SPECS:
        if not spec.shown:
            continue
        value = getattr(counters, name)
        if spec.places is not None:
            value = round(value, spec.places)
        elif spec.zero_is_null:
            value = value or None
        shape[spec.shown_as or name] = value
    c = counters
    shape["avg_first_byte_ms"] = round(c.first_byte_sum / c.first_byte_count * 1000, 1) if c.first_byte_count else None
    shape["avg_seconds"] = round(c.seconds_sum / c.requests, 3) if c.requests else None
    return shape
