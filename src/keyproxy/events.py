"""One event per upstream attempt, for the logs and the usage book (and metrics later)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from keyproxy.errors import ErrorClass

logger = logging.getLogger("keyproxy.attempts")


@dataclass(frozen=True, slots=True)
class Tokens:
    """What one answer cost, as the upstream reported it; `estimated` when it reported nothing."""

    prompt: int = 0
    completion: int = 0
    cached: int = 0
    reasoning: int = 0
    estimated: bool = False


@dataclass(frozen=True, slots=True)
class AttemptEvent:
    """A failure is reported when it happens; a success once its answer has been relayed in full."""

    provider: str
    model: str
    key_mask: str
    """The key masked, safe to show."""
    attempt: int
    status: int | None
    outcome: ErrorClass | None
    """None for a success."""
    message: str
    seconds: float
    """From sending the request to the end of the answer (or the failure)."""
    key_id: str = ""
    """The key's fingerprint: stable, safe to store."""
    at: float = 0.0
    """Wall-clock time of the event (the router's clock)."""
    first_byte: float | None = None
    """Seconds until the upstream's first byte, for successes."""
    tokens: Tokens | None = None


class EventSink(Protocol):
    def emit(self, event: AttemptEvent) -> None: ...


class Sinks:
    """Several sinks as one."""

    def __init__(self, *sinks: EventSink) -> None:
        self.sinks = sinks

    def emit(self, event: AttemptEvent) -> None:
        for sink in self.sinks:
            sink.emit(event)


class LogSink:
    """Key failures at warning, the client's own errors at info, successes at debug; never a full key."""

    def emit(self, event: AttemptEvent) -> None:
        if event.outcome is None:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "attempt ok provider=%s model=%s key=%s status=%s seconds=%.3f",
                    event.provider, event.model, event.key_mask, event.status, event.seconds,
                )  # fmt: skip
            return
        level = logging.INFO if event.outcome is ErrorClass.CLIENT_ERROR else logging.WARNING
        logger.log(
            level,
            "attempt failed provider=%s model=%s key=%s attempt=%d class=%s status=%s: %s",
            event.provider, event.model, event.key_mask, event.attempt, event.outcome.value,
            event.status, event.message,
        )  # fmt: skip
