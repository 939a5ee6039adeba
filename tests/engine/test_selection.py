from __future__ import annotations

from keyproxy.engine.selection import Exhausted, Pick, choose
from keyproxy.state.base import KeyStatus

NOW = 1000.0


def keys(*statuses: KeyStatus) -> list[KeyStatus]:
    return list(statuses)


def test_round_robin_starts_at_the_cursor() -> None:
    statuses = keys(KeyStatus("a"), KeyStatus("b"), KeyStatus("c"))
    assert choose(statuses, NOW, start=1, exclude=()) == Pick(1)


def test_the_cursor_wraps_around() -> None:
    statuses = keys(KeyStatus("a"), KeyStatus("b"))
    assert choose(statuses, NOW, start=5, exclude=()) == Pick(1)


def test_a_cooling_key_is_skipped() -> None:
    statuses = keys(KeyStatus("a", cooldown_until=NOW + 5), KeyStatus("b"))
    assert choose(statuses, NOW, start=0, exclude=()) == Pick(1)


def test_a_benched_key_is_skipped() -> None:
    statuses = keys(KeyStatus("a", benched_until=NOW + 5), KeyStatus("b"))
    assert choose(statuses, NOW, start=0, exclude=()) == Pick(1)


def test_a_key_whose_cooldown_has_passed_is_used_again() -> None:
    statuses = keys(KeyStatus("a", cooldown_until=NOW), KeyStatus("b"))
    assert choose(statuses, NOW, start=0, exclude=()) == Pick(0)


def test_a_key_already_tried_in_this_request_is_never_picked_again() -> None:
    statuses = keys(KeyStatus("a"), KeyStatus("b"))
    assert choose(statuses, NOW, start=0, exclude={"a"}) == Pick(1)
    assert choose(statuses, NOW, start=0, exclude={"a", "b"}) == Exhausted(None)


def test_a_key_at_its_concurrency_cap_is_skipped() -> None:
    statuses = keys(KeyStatus("a", in_flight=2), KeyStatus("b", in_flight=1))
    assert choose(statuses, NOW, start=0, exclude=(), max_in_flight=2) == Pick(1)


def test_exhausted_reports_the_earliest_recovery() -> None:
    statuses = keys(KeyStatus("a", cooldown_until=NOW + 30), KeyStatus("b", benched_until=NOW + 10))
    assert choose(statuses, NOW, start=0, exclude=()) == Exhausted(NOW + 10)


def test_no_keys_at_all_is_exhausted_for_good() -> None:
    assert choose([], NOW, start=0, exclude=()) == Exhausted(None)
