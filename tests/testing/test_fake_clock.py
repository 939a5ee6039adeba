from __future__ import annotations

import pytest

from keyproxy.clock import Clock
from keyproxy.testing import FakeClock


def test_starts_at_a_fixed_wall_time_by_default() -> None:
    assert FakeClock().now() == 1_700_000_000.0


def test_starts_at_the_given_time() -> None:
    assert FakeClock(start=42.5).now() == 42.5


def test_stands_still_until_advanced() -> None:
    clock = FakeClock()
    assert clock.now() == clock.now()


def test_advance_moves_now_forward_by_that_many_seconds() -> None:
    clock = FakeClock(start=100.0)
    clock.advance(2.5)
    clock.advance(0.5)
    assert clock.now() == 103.0


def test_advance_refuses_to_go_back_in_time() -> None:
    with pytest.raises(ValueError, match="back in time"):
        FakeClock().advance(-1)


def test_satisfies_the_clock_protocol() -> None:
    clock: Clock = FakeClock(start=7.0)
    assert clock.now() == 7.0
