from __future__ import annotations

import random
from collections import Counter
from collections.abc import Collection

import pytest

from keyproxy.engine.selection import Exhausted, Pick, SelectionPolicy, cap, choose, decayed_usage
from keyproxy.state.base import KeyStatus

NOW = 1000.0
LEAST_LOADED = SelectionPolicy(tolerance=0.0)
SEQUENTIAL = SelectionPolicy(tolerance=3.0, mode="sequential")


def pick(
    statuses: list[KeyStatus],
    policy: SelectionPolicy = LEAST_LOADED,
    priorities: list[int] | None = None,
    *,
    exclude: Collection[str] = (),
    sticky: str | None = None,
    rng: random.Random | None = None,
) -> Pick | Exhausted:
    """`choose` at NOW, every key in tier 1 unless `priorities` says otherwise."""
    tiers = priorities if priorities is not None else [1] * len(statuses)
    return choose(statuses, tiers, NOW, policy, exclude=exclude, sticky=sticky, rng=rng)


def test_a_cooling_key_is_skipped() -> None:
    assert pick([KeyStatus("a", cooldown_until=NOW + 5), KeyStatus("b", usage=9)]) == Pick(1)


def test_a_benched_key_is_skipped() -> None:
    assert pick([KeyStatus("a", benched_until=NOW + 5), KeyStatus("b", usage=9)]) == Pick(1)


def test_a_key_whose_cooldown_ends_now_is_used_again() -> None:
    assert pick([KeyStatus("a", cooldown_until=NOW), KeyStatus("b", usage=9)]) == Pick(0)


def test_a_key_already_tried_in_this_request_is_never_picked_again() -> None:
    statuses = [KeyStatus("a"), KeyStatus("b", usage=9)]
    assert pick(statuses, exclude={"a"}) == Pick(1)
    assert pick(statuses, exclude={"a", "b"}) == Exhausted(None)


def test_a_key_at_its_hard_cap_is_skipped() -> None:
    statuses = [KeyStatus("a", in_flight=2), KeyStatus("b", in_flight=1, usage=9)]
    assert pick(statuses, SelectionPolicy(tolerance=0.0, max_concurrent=2)) == Pick(1)


def test_a_drained_key_is_skipped_until_its_headroom_resets() -> None:
    statuses = [KeyStatus("a", headroom=0.0, headroom_reset=NOW + 30), KeyStatus("b", usage=9)]
    assert pick(statuses) == Pick(1)


def test_a_drained_key_is_usable_once_its_reset_has_passed() -> None:
    statuses = [KeyStatus("a", headroom=0.0, headroom_reset=NOW), KeyStatus("b", usage=9)]
    assert pick(statuses) == Pick(0)


def test_only_the_best_tier_with_a_usable_key_is_considered() -> None:
    statuses = [KeyStatus("low", usage=0), KeyStatus("high", usage=50)]
    assert pick(statuses, priorities=[2, 1]) == Pick(1)


def test_a_lower_tier_is_used_when_no_key_of_a_higher_tier_is_usable() -> None:
    statuses = [KeyStatus("high", cooldown_until=NOW + 5), KeyStatus("low")]
    assert pick(statuses, priorities=[1, 2]) == Pick(1)


def test_keys_under_the_soft_cap_are_preferred() -> None:
    statuses = [KeyStatus("a", in_flight=2), KeyStatus("b", in_flight=1, usage=20)]
    assert pick(statuses, SelectionPolicy(tolerance=0.0, optimal_concurrent=2)) == Pick(1)


def test_keys_between_soft_and_hard_cap_are_used_when_none_is_under_the_soft_cap() -> None:
    statuses = [KeyStatus("a", in_flight=4), KeyStatus("b", in_flight=3)]
    policy = SelectionPolicy(tolerance=0.0, optimal_concurrent=2, max_concurrent=4)
    assert pick(statuses, policy) == Pick(1)


def test_a_higher_tier_key_over_its_soft_cap_beats_a_lower_tier_key_under_it() -> None:
    statuses = [KeyStatus("low"), KeyStatus("high", in_flight=3)]
    assert pick(statuses, SelectionPolicy(tolerance=3.0, optimal_concurrent=1), priorities=[2, 1]) == Pick(1)


def test_cap_scales_the_limit_by_the_tier_multiplier() -> None:
    assert cap(4, 2, {2: 0.5}) == 2
    assert cap(3, 1, {1: 1.5}) == 4


def test_cap_never_drops_below_one() -> None:
    assert cap(2, 3, {3: 0.1}) == 1


def test_cap_of_a_tier_without_multiplier_is_the_limit() -> None:
    assert cap(5, 2, {1: 3.0}) == 5


def test_no_limit_means_no_cap() -> None:
    assert cap(None, 1, {1: 2.0}) is None


def test_a_multiplier_raises_the_hard_cap_of_its_tier() -> None:
    statuses = [KeyStatus("a", in_flight=3)]
    assert pick(statuses, SelectionPolicy(tolerance=3.0, max_concurrent=2, multipliers={1: 2.0})) == Pick(0)
    doubled_elsewhere = SelectionPolicy(tolerance=3.0, max_concurrent=2, multipliers={2: 2.0})
    assert pick(statuses, doubled_elsewhere) == Exhausted(NOW, busy=True)


def test_a_multiplier_lowers_the_soft_cap_of_its_tier() -> None:
    statuses = [KeyStatus("tier2", in_flight=1), KeyStatus("also-tier2", in_flight=2, usage=9)]
    policy = SelectionPolicy(tolerance=0.0, optimal_concurrent=4, multipliers={2: 0.25})
    # Both are at or over a soft cap of 1, so the least loaded wins rather than the one under 4.
    assert pick(statuses, policy, priorities=[2, 2]) == Pick(0)
    assert pick([KeyStatus("x", in_flight=1), KeyStatus("y", usage=9)], policy, priorities=[2, 2]) == Pick(1)


def test_a_key_with_low_headroom_is_avoided_while_another_has_more() -> None:
    statuses = [KeyStatus("a", headroom=0.05, headroom_reset=NOW + 10), KeyStatus("b", usage=20)]
    assert pick(statuses) == Pick(1)


def test_low_headroom_keys_are_used_when_every_candidate_is_low() -> None:
    statuses = [
        KeyStatus("a", usage=5, headroom=0.05, headroom_reset=NOW + 10),
        KeyStatus("b", headroom=0.02, headroom_reset=NOW + 10),
    ]
    assert pick(statuses) == Pick(1)


def test_low_headroom_no_longer_counts_once_it_has_reset() -> None:
    statuses = [KeyStatus("a", headroom=0.05, headroom_reset=NOW), KeyStatus("b", usage=20)]
    assert pick(statuses) == Pick(0)


def test_unknown_headroom_is_not_low() -> None:
    statuses = [KeyStatus("a", headroom=None), KeyStatus("b", usage=20, headroom=0.9, headroom_reset=NOW + 10)]
    assert pick(statuses) == Pick(0)


def test_sequential_takes_the_first_usable_key_in_configuration_order() -> None:
    statuses = [KeyStatus("a", cooldown_until=NOW + 1, usage=0), KeyStatus("b", usage=90), KeyStatus("c")]
    assert pick(statuses, SEQUENTIAL) == Pick(1)


def test_sequential_stays_on_the_sticky_key() -> None:
    statuses = [KeyStatus("a"), KeyStatus("b", usage=90), KeyStatus("c")]
    assert pick(statuses, SEQUENTIAL, sticky="b") == Pick(1)


def test_sequential_falls_back_to_the_next_key_when_the_sticky_one_is_unusable() -> None:
    statuses = [KeyStatus("a", cooldown_until=NOW + 1), KeyStatus("b", cooldown_until=NOW + 1), KeyStatus("c")]
    assert pick(statuses, SEQUENTIAL, sticky="b") == Pick(2)


def test_sequential_leaves_a_sticky_key_of_a_lower_tier_for_a_higher_one() -> None:
    statuses = [KeyStatus("a"), KeyStatus("b")]
    assert pick(statuses, SEQUENTIAL, priorities=[1, 2], sticky="b") == Pick(0)


def test_balanced_with_zero_tolerance_picks_the_least_loaded() -> None:
    statuses = [
        KeyStatus("a", usage=3, last_used=NOW),
        KeyStatus("b", usage=1, last_used=NOW),
        KeyStatus("c", usage=2, last_used=NOW),
    ]
    assert pick(statuses) == Pick(1)


def test_requests_in_flight_count_as_load() -> None:
    statuses = [KeyStatus("a", in_flight=2), KeyStatus("b", usage=1.5, last_used=NOW)]
    assert pick(statuses) == Pick(1)


def test_old_usage_weighs_less_than_recent_usage() -> None:
    statuses = [KeyStatus("a", usage=2, last_used=NOW), KeyStatus("b", usage=8, last_used=NOW - 180)]
    assert pick(statuses) == Pick(1)


def test_equal_loads_go_to_the_least_recently_used_key() -> None:
    statuses = [KeyStatus("a", last_used=NOW - 1), KeyStatus("b", last_used=NOW - 5), KeyStatus("c", last_used=NOW)]
    assert pick(statuses) == Pick(1)


def test_full_ties_go_to_the_first_key() -> None:
    assert pick([KeyStatus("a"), KeyStatus("b"), KeyStatus("c")]) == Pick(0)


def test_balanced_with_tolerance_weights_keys_by_exp_of_load_difference() -> None:
    """Loads 0 and 3 with tolerance 3 weigh 1 and 1/e: key a should get 1 / (1 + 1/e), about 73%."""
    statuses = [KeyStatus("a"), KeyStatus("b", in_flight=3)]
    rng = random.Random(7)
    picks = Counter(pick(statuses, SelectionPolicy(tolerance=3.0), rng=rng) for _ in range(4000))
    assert picks[Pick(0)] / 4000 == pytest.approx(0.731, abs=0.03)


def test_balanced_with_tolerance_spreads_equal_keys_evenly() -> None:
    statuses = [KeyStatus("a"), KeyStatus("b"), KeyStatus("c")]
    rng = random.Random(11)
    picks = Counter(pick(statuses, SelectionPolicy(tolerance=3.0), rng=rng) for _ in range(3000))
    assert all(count / 3000 == pytest.approx(1 / 3, abs=0.04) for count in picks.values())


def test_the_same_seed_gives_the_same_picks() -> None:
    statuses = [KeyStatus("a"), KeyStatus("b", usage=1), KeyStatus("c", usage=2)]
    first = [pick(statuses, SelectionPolicy(tolerance=3.0), rng=random.Random(3)) for _ in range(20)]
    second = [pick(statuses, SelectionPolicy(tolerance=3.0), rng=random.Random(3)) for _ in range(20)]
    assert first == second


def test_decayed_usage_halves_every_half_life() -> None:
    assert decayed_usage(8.0, last_used=NOW - 120, now=NOW) == pytest.approx(2.0)
    assert decayed_usage(8.0, last_used=NOW - 10, now=NOW, half_life=10) == pytest.approx(4.0)


def test_decayed_usage_ignores_a_clock_that_went_back() -> None:
    assert decayed_usage(5.0, last_used=NOW + 30, now=NOW) == 5.0


def test_exhausted_reports_the_earliest_recovery() -> None:
    statuses = [KeyStatus("a", cooldown_until=NOW + 30), KeyStatus("b", benched_until=NOW + 10)]
    assert pick(statuses) == Exhausted(NOW + 10)


def test_a_key_both_cooling_and_benched_recovers_when_both_end() -> None:
    statuses = [KeyStatus("a", cooldown_until=NOW + 30, benched_until=NOW + 10)]
    assert pick(statuses) == Exhausted(NOW + 30)


def test_exhausted_counts_a_drained_key_from_its_headroom_reset() -> None:
    statuses = [KeyStatus("a", headroom=0.0, headroom_reset=NOW + 20), KeyStatus("b", cooldown_until=NOW + 40)]
    assert pick(statuses) == Exhausted(NOW + 20)


def test_exhausted_is_busy_now_when_a_key_is_held_only_by_its_hard_cap() -> None:
    statuses = [KeyStatus("a", in_flight=1), KeyStatus("b", cooldown_until=NOW + 40)]
    assert pick(statuses, SelectionPolicy(tolerance=3.0, max_concurrent=1)) == Exhausted(NOW, busy=True)


def test_excluded_keys_do_not_count_towards_retry_at() -> None:
    statuses = [KeyStatus("a", cooldown_until=NOW + 5), KeyStatus("b", cooldown_until=NOW + 40)]
    assert pick(statuses, exclude={"a"}) == Exhausted(NOW + 40)


def test_no_keys_at_all_is_exhausted_for_good() -> None:
    assert pick([]) == Exhausted(None)


def test_priorities_must_match_statuses() -> None:
    with pytest.raises(ValueError, match="priorities"):
        choose([KeyStatus("a")], [], NOW, LEAST_LOADED)


@pytest.mark.parametrize(
    "options",
    [
        {"tolerance": -1.0},
        {"tolerance": float("inf")},
        {"max_concurrent": 0},
        {"optimal_concurrent": 0},
        {"multipliers": {1: 0.0}},
        {"low_headroom": 1.5},
    ],
)
def test_a_policy_with_impossible_values_is_refused(options: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must"):
        SelectionPolicy(**{"tolerance": 3.0, **options})  # type: ignore[arg-type]
