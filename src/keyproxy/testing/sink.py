"""RecordingSink: an event sink that keeps every attempt event, for tests to read what the router did."""

from __future__ import annotations

from keyproxy.events import AttemptEvent


class RecordingSink:
    """Satisfies keyproxy.events.EventSink; `events` holds what was emitted, oldest first."""

    __slots__ = ("events",)

    def __init__(self) -> None:
        self.events: list[AttemptEvent] = []

    def emit(self, event: AttemptEvent) -> None:
        self.events.append(event)

    @property
    def key_masks(self) -> list[str]:
        """The masked key of each attempt, in order."""
        return [event.key_mask for event in self.events]
