"""The views RedisStore chooses on: how long one is trusted, and how many are kept."""

from __future__ import annotations

import pytest

from keyproxy.state import KeyStatus, redis_views
from keyproxy.state.redis_keys import RedisKeys
from keyproxy.state.redis_views import REFRESH, VIEW_AGE, Views

NOW = 1_700_000_000.0
FIELDS = ["1700000060.0", "", "2", "1", "0.5", "1700000010.0", "", "1700000600.0", "", "", "", ""]


def test_a_view_holds_what_the_script_answered_with_this_instances_own_usage() -> None:
    views = Views(RedisKeys())
    views.of("p", ("a", "b"), "m").update(FIELDS)
    view = views.known("p", "m")
    assert view is not None
    view.mark([KeyStatus("a", in_flight=1), KeyStatus("b")], NOW)
    mine = [KeyStatus("a", usage=3.0, last_used=NOW - 1, in_flight=1), KeyStatus("b")]
    assert view.statuses(mine) == [
        KeyStatus("a", NOW + 60, 0.0, 2, 1, 3.0, NOW - 1, 0.5, NOW + 10),
        KeyStatus("b", 0.0, NOW + 600, 0, 0, 0.0, 0.0, None, 0.0),
    ]


def test_what_this_instance_starts_and_ends_after_the_read_moves_the_views_in_flight_counts() -> None:
    view = Views(RedisKeys()).of("p", ("a", "b"), "m")
    view.update(FIELDS)
    view.mark([KeyStatus("a", in_flight=1), KeyStatus("b")], NOW)
    later = view.statuses([KeyStatus("a", in_flight=0), KeyStatus("b", in_flight=3)])
    assert [status.in_flight for status in later] == [1, 3]


def test_a_view_is_read_again_after_refresh() -> None:
    view = Views(RedisKeys()).of("p", ("a",), "m")
    assert view.due(NOW)
    view.update(FIELDS[:6])
    view.mark([KeyStatus("a")], NOW)
    assert (view.due(NOW + REFRESH), view.due(NOW + REFRESH + 0.001)) == (False, True)


def test_of_the_requests_in_flight_when_a_view_ages_only_the_first_reads_the_pool() -> None:
    view = Views(RedisKeys()).of("p", ("a",), "m")
    view.mark([KeyStatus("a")], NOW)
    later = NOW + REFRESH + 0.001
    assert [view.due(later), view.due(later + 0.001), view.due(later + REFRESH + 0.001)] == [True, False, True]


def test_a_view_is_recent_for_view_age_and_for_the_same_keys_only() -> None:
    views = Views(RedisKeys())
    view = views.of("p", ("a", "b"), "m")
    view.update(FIELDS)
    view.mark([KeyStatus("a"), KeyStatus("b")], NOW)
    assert views.recent("p", ("a", "b"), "m", NOW + VIEW_AGE) is not None
    assert views.recent("p", ("a", "b"), "m", NOW + VIEW_AGE + 0.001) is None
    assert views.recent("p", ("a",), "m", NOW) is None
    assert views.recent("p", ("a", "b"), "other", NOW) is None


def test_a_view_is_chosen_on_only_once_marked_with_this_instances_own_statuses() -> None:
    views = Views(RedisKeys())
    views.of("p", ("a",), "m").update(FIELDS[:6])
    assert views.recent("p", ("a",), "m", NOW) is None


def test_past_the_bound_the_oldest_view_goes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_views, "SCOPED_LIMIT", 2)
    views = Views(RedisKeys())
    for model in ("m1", "m2", "m3"):
        views.of("p", ("a",), model)
    assert [views.known("p", model) is not None for model in ("m1", "m2", "m3")] == [False, True, True]


def test_a_keys_slot_names_are_its_counter_cooldown_and_bench() -> None:
    keys = RedisKeys("x:")
    view = Views(keys).of("p", ("a", "b"), "m")
    names = (keys.in_flight("p", "b"), keys.cooldown("p", "b", "m"), keys.bench("p", "b"))
    assert view.slots.get("b") == b"".join(b"$%d\r\n%s\r\n" % (len(name), name.encode()) for name in names)
    assert view.slots.get("c") is None


def test_a_read_of_other_keys_replaces_the_buckets_view_only_when_asked() -> None:
    views = Views(RedisKeys())
    pool = views.of("p", ("a", "b"), "m")
    one = views.of("p", ("a",), "m", replace=False)
    assert (one is not pool, views.known("p", "m") is pool) == (True, True)
    assert views.of("p", ("a", "b", "c"), "m") is views.known("p", "m") is not pool
