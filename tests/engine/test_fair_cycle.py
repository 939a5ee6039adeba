"""The fair cycle's pure policy: which keys it holds out, what marks a key, when a tier starts a new cycle."""

from __future__ import annotations

from keyproxy.config.settings import FairCycle
from keyproxy.engine import fair_cycle
from keyproxy.errors import ErrorClass
from keyproxy.state.base import NO_MARKS, CycleMarks, KeyStatus, Verdict, marked, unmarked
from keyproxy.testing import FakeClock

CYCLE = FairCycle()
KEYS = ("a", "b", "c")


def statuses(**cooling: float) -> list[KeyStatus]:
    return [KeyStatus(key, cooldown_until=cooling.get(key, 0.0)) for key in KEYS]


def test_a_cooldown_at_least_the_threshold_marks_the_key_and_a_shorter_one_does_not() -> None:
    now = FakeClock().now()
    assert fair_cycle.exhausts(CYCLE, Verdict("model", now + 300, ErrorClass.RATE_LIMITED), now)
    assert not fair_cycle.exhausts(CYCLE, Verdict("model", now + 299, ErrorClass.RATE_LIMITED), now)


def test_a_bench_for_every_model_never_marks() -> None:
    now = FakeClock().now()
    assert not fair_cycle.exhausts(CYCLE, Verdict("key", now + 9999, ErrorClass.KEY_REJECTED), now)


def test_marked_keys_are_held_out_until_the_cycle_is_older_than_its_duration() -> None:
    clock = FakeClock()
    marks = marked(NO_MARKS, "a", clock.now(), CYCLE.duration)
    assert fair_cycle.held_out(CYCLE, marks, clock.now()) == {"a"}
    clock.advance(CYCLE.duration)
    assert fair_cycle.held_out(CYCLE, marks, clock.now()) == set()


def test_a_mark_after_the_cycle_expired_starts_a_new_cycle_without_the_old_marks() -> None:
    clock = FakeClock()
    marks = marked(NO_MARKS, "a", clock.now(), 100.0)
    clock.advance(100)
    marks = marked(marks, "b", clock.now(), 100.0)
    assert marks == CycleMarks(clock.now(), {"b": clock.now()})


def test_the_tracking_is_the_bucket_or_every_model_per_key() -> None:
    assert fair_cycle.tracking(CYCLE, "group:pro") == "group:pro"
    assert fair_cycle.tracking(FairCycle(tracking="credential"), "group:pro") == fair_cycle.EVERY_MODEL


def test_no_reset_while_a_key_of_the_tier_is_neither_exhausted_nor_benched() -> None:
    now = FakeClock().now()
    reset = fair_cycle.reset(CYCLE, {"a", "b"}, KEYS, (1, 1, 1), statuses(c=now + 30), now)
    assert reset == fair_cycle.Reset()


def test_a_tier_all_exhausted_resets_its_marks() -> None:
    now = FakeClock().now()
    reset = fair_cycle.reset(CYCLE, set(KEYS), KEYS, (1, 1, 1), statuses(a=now + 600, b=now + 900), now)
    assert reset == fair_cycle.Reset(KEYS)


def test_no_reset_while_a_key_of_the_tier_comes_back_within_the_reset_threshold_which_is_waited_for() -> None:
    now = FakeClock().now()
    reset = fair_cycle.reset(CYCLE, set(KEYS), KEYS, (1, 1, 1), statuses(a=now + 60, b=now + 80), now)
    assert reset == fair_cycle.Reset((), now + 60)


def test_each_tier_resets_on_its_own_unless_cross_tier() -> None:
    now = FakeClock().now()
    # Tier 1 (a, b) is all exhausted; tier 2 (c) is not.
    assert fair_cycle.reset(CYCLE, {"a", "b"}, KEYS, (1, 1, 2), statuses(), now).key_ids == ("a", "b")
    crossed = FairCycle(cross_tier=True)
    assert fair_cycle.reset(crossed, {"a", "b"}, KEYS, (1, 1, 2), statuses(), now).key_ids == ()


def test_benched_and_capped_keys_count_as_spent_for_a_reset() -> None:
    now = FakeClock().now()
    benched = [KeyStatus("a"), KeyStatus("b"), KeyStatus("c", benched_until=now + 600)]
    assert fair_cycle.reset(CYCLE, {"a", "b"}, KEYS, (1, 1, 1), benched, now).key_ids == ("a", "b")
    assert fair_cycle.reset(CYCLE, {"a", "b"}, KEYS, (1, 1, 1), statuses(), now, capped={"c"}).key_ids == ("a", "b")


def test_keys_left_out_for_the_model_are_in_no_tier() -> None:
    now = FakeClock().now()
    assert fair_cycle.reset(CYCLE, {"a", "b"}, KEYS, (1, 1, 1), statuses(), now, left_out={"c"}).key_ids == ("a", "b")


def test_unmarking_the_last_key_ends_the_cycle() -> None:
    marks = marked(marked(NO_MARKS, "a", 1.0, 100.0), "b", 2.0, 100.0)
    assert unmarked(marks, ["a"]) == CycleMarks(1.0, {"b": 2.0})
    assert unmarked(marks, ["a", "b"]) == NO_MARKS
