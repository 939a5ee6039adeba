"""What happened: one event per upstream attempt, one record per client request."""

from __future__ import annotations

import logging
from typing import Protocol

import msgspec

from keyproxy.errors import ErrorClass

logger = logging.getLogger("keyproxy.attempts")


# The types made for every request are msgspec structs: built in C, where a frozen dataclass sets each field
# through object.__setattr__ (about ten times the instructions); without references that could form a
# cycle, they are not tracked by the garbage collector either.
class Tokens(msgspec.Struct, frozen=True, gc=False):
    """What one answer cost, as the upstream reported it; `estimated` when it reported nothing."""

    prompt: int = 0
    completion: int = 0
    cached: int = 0
    reasoning: int = 0
    estimated: bool = False


class AttemptEvent(msgspec.Struct, frozen=True, gc=False):
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


class Served(Protocol):
    """What answered a request: the provider, the key and what the upstreams took (the engine's `Opened`)."""

    provider: str
    key_mask: str
    attempts: int
    upstream_seconds: float
    """Time spent waiting on upstreams until the answer (or its first chunk) was in hand."""
    tokens: Tokens | None
    """As the upstream reported them, once the answer has been relayed; None when it reported none."""


class RequestRecord(msgspec.Struct, gc=False):
    """One client request as it is served: the app opens it, the route notes the model and what answered
    (`note_served`), the app closes it with the status and hands it to the request sinks (access log,
    metrics). Never changed once handed over, so a sink may keep it to read later; closed, it holds no
    reference to the answer (nor to any container that could lead back to it), which is what lets the
    collector ignore it: records gathered by a sink cost the collector nothing."""

    method: str
    path: str
    client: tuple[str, int] | None
    route: str
    """The route's declared path (`/v1/chat/completions`, `/v1/models/{id}`), or "none": a bounded label."""
    started: float
    """`time.perf_counter()` when the request reached the app."""
    model: str = ""
    """The model as the client sent it."""
    provider: str = ""
    """Who answered ("" when no upstream did), with which key (masked), after how many attempts."""
    key_mask: str = ""
    attempts: int = 0
    upstream_seconds: float = 0.0
    """Time spent waiting on upstreams until the answer (or its first chunk) was in hand."""
    tokens: Tokens | None = None
    status: int = 0
    seconds: float = 0.0
    at: float = 0.0
    """Wall-clock time the request ended."""
    overhead: float | None = None
    """Seconds keyproxy itself added before the answer started (total minus waiting on upstreams), for a
    request an upstream answered."""
    overhead_ms: str = "-"
    """The same in milliseconds, as the `x-keyproxy-overhead-ms` header and the access log write it."""
    served: Served | None = None
    """The answer, until the record is closed (its tokens are known once it has been relayed)."""

    def note_served(self, served: Served, now: float) -> None:
        """`served` is about to answer; `now` is `time.perf_counter()`."""
        self.provider, self.key_mask, self.attempts = served.provider, served.key_mask, served.attempts
        self.upstream_seconds = served.upstream_seconds
        self.served = served
        overhead = now - self.started - served.upstream_seconds
        self.overhead = overhead = overhead if overhead > 0.0 else 0.0
        self.overhead_ms = f"{overhead * 1000:.2f}"

    def note_tried(self, tried: tuple[str, str, int]) -> None:
        """The request failed after upstreams were tried (`KeyproxyError.tried`): the provider, the key that
        answered the failure ("-" when no one key did) and the attempts."""
        self.provider, self.key_mask, self.attempts = tried

    def close(self, seconds: float, at: float) -> None:
        self.seconds, self.at = seconds, at
        if self.served is not None:
            self.tokens = self.served.tokens
            self.served = None


class RequestSink(Protocol):
    def finished(self, record: RequestRecord) -> None: ...


class RequestWatch:
    """The requests in flight, and every finished one handed to the sinks (cheap: they run on the loop)."""

    __slots__ = ("in_flight", "sinks")

    def __init__(self, *sinks: RequestSink) -> None:
        self.sinks = sinks
        self.in_flight = 0

    def finished(self, record: RequestRecord) -> None:
        for sink in self.sinks:
            sink.finished(record)
