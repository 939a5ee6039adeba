"""Attempts join the exchange being captured, if any."""

from __future__ import annotations

from keyproxy.capture.exchange import current
from keyproxy.events import AttemptEvent


class CaptureSink:
    __slots__ = ()

    def emit(self, event: AttemptEvent) -> None:
        exchange = current.get()
        if exchange is not None:
            exchange.attempt(event)
