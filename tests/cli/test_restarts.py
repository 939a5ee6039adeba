"""When the supervisor starts a dead worker again: at once after a worker that ran a while, later and later
while it keeps dying soon after its start."""

from __future__ import annotations

from keyproxy.cli.restarts import RestartPolicy

POLICY = RestartPolicy(first=0.5, cap=30.0, stable=30.0)


def test_a_worker_that_ran_a_while_is_started_again_at_once() -> None:
    restart = POLICY.after_exit(streak=0, ran_for=3600.0)
    assert (restart.delay, restart.streak) == (0.0, 1)


def test_each_early_death_in_a_row_doubles_the_wait_up_to_the_cap() -> None:
    streak, delays = 0, []
    for _ in range(10):
        restart = POLICY.after_exit(streak, ran_for=1.0)
        streak = restart.streak
        delays.append(restart.delay)
    assert delays == [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_a_worker_that_stays_up_long_enough_starts_a_new_streak() -> None:
    assert POLICY.after_exit(streak=7, ran_for=30.0).delay == 0.0
