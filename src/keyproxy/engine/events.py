"""One event per upstream attempt, for logs now and for metrics and usage later."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from keyproxy.errors import ErrorClass

logger = logging.getLogger("keyproxy.attempts")


@dataclass(frozen=True, slots=True)
class AttemptEvent:
    provider: str
    model: str
    key: str
    """The key masked, safe to show."""
    attempt: int
    status: int | None
    outcome: ErrorClass | None
    """None for a success."""
    message: str
    seconds: float


class EventSink(Protocol):
    def emit(self, event: AttemptEvent) -> None: ...


class LogSink:
    """Key failures at warning, the client's own errors at info, successes at debug; never a full key."""

    def emit(self, event: AttemptEvent) -> None:
        if event.outcome is None:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "attempt ok provider=%s model=%s key=%s status=%s seconds=%.3f",
                    event.provider, event.model, event.key, event.status, event.seconds,
                )  # fmt: skip
            return
        level = logging.INFO if event.outcome is ErrorClass.CLIENT_ERROR else logging.WARNING
        logger.log(
            level,
            "attempt failed provider=%s model=%s key=%s attempt=%d class=%s status=%s: %s",
            event.provider, event.model, event.key, event.attempt, event.outcome.value,
            event.status, event.message,
        )  # fmt: skip
