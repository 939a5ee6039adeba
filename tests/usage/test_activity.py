"""The activity recorder counts attempts per minute, each key's last hour and the latest failures, in memory."""

from __future__ import annotations

from typing import Any

import pytest

from keyproxy.errors import ErrorClass
from keyproxy.events import AttemptEvent
from keyproxy.usage import activity
from keyproxy.usage.activity import DAY_MINUTES, FAILURES_KEPT, KEY_MINUTES, ActivityRecorder

MINUTE0 = 28_333_333 * 60.0  # 2023-11-14T22:13:00Z, a minute's start


def event(at: float = MINUTE0, **overrides: Any) -> AttemptEvent:
    values: dict[str, Any] = {
        "provider": "openai", "model": "gpt-4o", "key_mask": "sk-a...1234", "attempt": 1, "status": 200,
        "outcome": None, "message": "", "seconds": 0.5, "key_id": "abc123abc123", "at": at,
    }  # fmt: skip
    return AttemptEvent(**{**values, **overrides})


def failure(at: float = MINUTE0, **overrides: Any) -> AttemptEvent:
    return event(at, outcome=ErrorClass.RATE_LIMITED, status=429, message="slow down", **overrides)


def recorded(*events: AttemptEvent) -> ActivityRecorder:
    recorder = ActivityRecorder()
    for one in events:
        recorder.emit(one)
    return recorder


def test_attempts_are_counted_in_the_minute_they_happened() -> None:
    recorder = recorded(event(MINUTE0 + 5), failure(MINUTE0 + 59), event(MINUTE0 + 60))
    series = recorder.series(MINUTE0 + 60, minutes=3, step=1)
    assert series["start"] == MINUTE0 - 60
    assert (series["ok"], series["failed"]) == ([0, 1, 1], [0, 1, 0])


def test_the_series_is_summed_over_providers_unless_one_is_asked_for() -> None:
    recorder = recorded(event(provider="openai"), event(provider="groq"), failure(provider="groq"))
    assert recorder.series(MINUTE0, 1, 1)["ok"] == [2]
    assert recorder.series(MINUTE0, 1, 1, provider="groq")["failed"] == [1]
    assert recorder.series(MINUTE0, 1, 1, provider="openai")["failed"] == [0]


def test_steps_add_minutes_together_and_end_at_the_current_minute() -> None:
    recorder = recorded(*(event(MINUTE0 + 60 * n) for n in range(6)))
    series = recorder.series(MINUTE0 + 5 * 60, minutes=6, step=3)
    assert series["ok"] == [3, 3]
    assert series["step_seconds"] == 180


def test_the_average_latency_is_of_the_successes_only() -> None:
    recorder = recorded(event(seconds=0.2), event(seconds=0.4), failure(seconds=9.0))
    assert recorder.series(MINUTE0, 1, 1)["avg_ms"] == [300.0]


def test_a_minute_without_attempts_has_no_average() -> None:
    assert ActivityRecorder().series(MINUTE0, 2, 1)["avg_ms"] == [None, None]


def test_a_minute_that_leaves_a_keys_hour_still_counts_in_the_day() -> None:
    recorder = recorded(event(MINUTE0), failure(MINUTE0 + KEY_MINUTES * 60))
    series = recorder.series(MINUTE0 + KEY_MINUTES * 60, minutes=KEY_MINUTES + 1, step=1)
    assert (sum(series["ok"]), sum(series["failed"])) == (1, 1)
    assert series["ok"][0] == 1


def test_minutes_older_than_a_day_are_forgotten_when_their_slot_comes_round() -> None:
    hour, day = KEY_MINUTES * 60, DAY_MINUTES * 60
    recorder = recorded(event(MINUTE0), event(MINUTE0 + hour), event(MINUTE0 + day), event(MINUTE0 + day + hour))
    assert sum(recorder.series(MINUTE0 + day + hour, DAY_MINUTES, 60)["ok"]) == 2


def test_an_event_older_than_what_its_slot_holds_is_dropped() -> None:
    recorder = recorded(event(MINUTE0 + KEY_MINUTES * 60), event(MINUTE0))
    assert sum(recorder.series(MINUTE0 + KEY_MINUTES * 60, DAY_MINUTES, 60)["ok"]) == 1


def test_too_many_keys_start_their_hours_again_but_keep_the_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(activity, "KEYS_KEPT", 2)
    recorder = recorded(event(key_id="k1"), event(key_id="k2"), event(key_id="k3"))
    assert list(recorder.keys(MINUTE0)["openai"]) == ["k3"]
    assert recorder.series(MINUTE0, 1, 1)["ok"] == [3]


def test_a_key_shows_its_success_rate_and_latencies_over_the_last_hour() -> None:
    recorder = recorded(event(seconds=0.1, first_byte=0.05), event(seconds=0.3, first_byte=0.15), failure())
    shown = recorder.keys(MINUTE0)["openai"]["abc123abc123"]
    assert shown == {"requests": 3, "failed": 1, "success_rate": 0.6667, "avg_ms": 200.0, "avg_first_byte_ms": 100.0}


def test_a_key_quiet_for_an_hour_is_left_out() -> None:
    recorder = recorded(event(MINUTE0))
    assert recorder.keys(MINUTE0 + (KEY_MINUTES - 1) * 60) != {}
    assert recorder.keys(MINUTE0 + KEY_MINUTES * 60) == {}


def test_keys_are_told_apart_by_provider_and_fingerprint() -> None:
    recorder = recorded(event(key_id="k1"), failure(key_id="k2"), event(provider="groq", key_id="k1"))
    keys = recorder.keys(MINUTE0)
    assert (keys["openai"]["k1"]["failed"], keys["openai"]["k2"]["failed"], keys["groq"]["k1"]["failed"]) == (0, 1, 0)


def test_failures_are_listed_newest_first_and_successes_are_not() -> None:
    recorder = recorded(failure(MINUTE0 + 1), event(MINUTE0 + 2), failure(MINUTE0 + 3))
    assert [one.at for one in recorder.failures()] == [MINUTE0 + 3, MINUTE0 + 1]


def test_only_the_latest_failures_are_kept() -> None:
    recorder = recorded(*(failure(MINUTE0 + n) for n in range(FAILURES_KEPT + 5)))
    kept = recorder.failures()
    assert len(kept) == FAILURES_KEPT
    assert kept[0].at == MINUTE0 + FAILURES_KEPT + 4


def test_failures_can_be_limited_to_the_latest_few() -> None:
    recorder = recorded(*(failure(MINUTE0 + n) for n in range(5)))
    assert [one.at for one in recorder.failures(2)] == [MINUTE0 + 4, MINUTE0 + 3]
    assert recorder.failures(0) == []
