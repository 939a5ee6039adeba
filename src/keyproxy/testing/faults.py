"""What one upstream key does next: a Fault armed per key, for a number of requests or until cleared."""

from __future__ import annotations

import enum
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace


class FaultKind(enum.StrEnum):
    RATE_LIMIT = "rate_limit"
    QUOTA = "quota"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    SERVER_ERROR = "server_error"
    UNAVAILABLE = "unavailable"
    OVERLOADED = "overloaded"
    BAD_REQUEST = "bad_request"
    NOT_FOUND = "not_found"
    UNPROCESSABLE = "unprocessable"
    HANG = "hang"
    GARBAGE = "garbage"
    EMPTY = "empty"
    CUT_BEFORE_FIRST_CHUNK = "cut_before_first_chunk"
    CUT_AFTER_FIRST_CHUNK = "cut_after_first_chunk"
    SLOW = "slow"


@dataclass(frozen=True, slots=True)
class Fault:
    """`delay` waits before any answer (and, for `slow`, between stream chunks); `times=None` never expires.

    `retry_after` and `retry_after_ms` become the `Retry-After` and `retry-after-ms` headers of any
    error answer, not only of `rate_limit`.
    """

    kind: FaultKind
    retry_after: float | None = None
    retry_after_ms: int | None = None
    delay: float = 0.0
    times: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, FaultKind):
            raise ValueError(f"kind must be one of {', '.join(FaultKind)}")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1, or None for until cleared")
        for name in ("retry_after", "retry_after_ms", "delay"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Fault:
        """Build a fault from the JSON the HTTP control endpoint receives; ValueError names the bad field."""
        kind = data.get("kind")
        if not isinstance(kind, str) or kind not in FaultKind.__members__.values():
            raise ValueError(f"kind must be one of {', '.join(FaultKind)}")
        return cls(
            FaultKind(kind),
            retry_after=_number(data, "retry_after"),
            retry_after_ms=_integer(data, "retry_after_ms"),
            delay=_number(data, "delay") or 0.0,
            times=_integer(data, "times"),
        )


def _number(data: Mapping[str, object], name: str) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number")
    return float(value)


def _integer(data: Mapping[str, object], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer")
    return value


class FaultBoard:
    """The faults armed per key. Locked because tests arm faults from outside the server's thread."""

    __slots__ = ("_faults", "_lock")

    def __init__(self) -> None:
        self._faults: dict[str, Fault] = {}
        self._lock = threading.Lock()

    def set(self, key: str, fault: Fault) -> None:
        with self._lock:
            self._faults[key] = fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, key: str) -> Fault | None:
        """The fault for this request of `key`, using up one of its `times`."""
        with self._lock:
            fault = self._faults.get(key)
            if fault is None or fault.times is None:
                return fault
            if fault.times == 1:
                del self._faults[key]
            else:
                self._faults[key] = replace(fault, times=fault.times - 1)
            return fault
