"""RecordingSink keeps every attempt event it is given, in order."""

from __future__ import annotations

from keyproxy.errors import ErrorClass
from keyproxy.events import AttemptEvent
from keyproxy.testing import RecordingSink


def attempt(key_mask: str, outcome: ErrorClass | None) -> AttemptEvent:
    return AttemptEvent("p", "m", key_mask, 1, 200, outcome, "", 0.0)


def test_events_and_their_key_masks_are_kept_in_order() -> None:
    sink = RecordingSink()
    sink.emit(attempt("...0001", ErrorClass.RATE_LIMITED))
    sink.emit(attempt("...0002", None))
    assert [event.outcome for event in sink.events] == [ErrorClass.RATE_LIMITED, None]
    assert sink.key_masks == ["...0001", "...0002"]
