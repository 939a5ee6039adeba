"""KEYPROXY_WORKERS and --workers: how many worker processes serve, and the Redis they need to act as one."""

from __future__ import annotations

import os

import pytest

from keyproxy.config import CliOptions, build_settings

REDIS = {"KEYPROXY_REDIS_URL": "redis://127.0.0.1:6379/0"}


def test_one_worker_by_default() -> None:
    assert build_settings({}, CliOptions()).settings.workers == 1


def test_the_flag_wins_over_the_variable() -> None:
    report = build_settings({**REDIS, "KEYPROXY_WORKERS": "4"}, CliOptions(workers="3"))
    assert report.errors == ()
    assert report.settings.workers == 3


def test_auto_is_one_worker_per_core_this_process_may_use() -> None:
    report = build_settings({**REDIS, "KEYPROXY_WORKERS": "auto"}, CliOptions())
    assert report.settings.workers == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("raw", ["0", "-1", "two", "1.5"])
def test_a_count_that_is_not_a_whole_number_of_at_least_one_is_an_error(raw: str) -> None:
    report = build_settings({**REDIS, "KEYPROXY_WORKERS": raw}, CliOptions())
    assert [error.variable for error in report.errors] == ["KEYPROXY_WORKERS"]


def test_several_workers_without_redis_are_refused_naming_what_is_missing() -> None:
    (error,) = build_settings({}, CliOptions(workers="2")).errors
    assert error.variable == "--workers"
    assert "KEYPROXY_REDIS_URL" in error.problem


def test_one_worker_needs_no_redis() -> None:
    assert build_settings({"KEYPROXY_WORKERS": "1"}, CliOptions()).errors == ()


def test_the_redis_prefix_is_read() -> None:
    report = build_settings({**REDIS, "KEYPROXY_REDIS_PREFIX": "team-a:"}, CliOptions())
    assert report.settings.state.redis_prefix == "team-a:"
    assert build_settings(REDIS, CliOptions()).settings.state.redis_prefix == "keyproxy:"
