"""Proxy health as status shows it: up or down since the change, failures in a row, on a clock the test moves."""

from __future__ import annotations

from keyproxy.testing import FakeClock
from keyproxy.transport.proxy_health import ProxyHealth, Seen

PROXY = "http://bob:pw@squid:3128"


def test_a_proxy_is_unknown_until_a_connection_through_it_opens_or_fails() -> None:
    assert ProxyHealth(FakeClock()).of(PROXY) is None


def test_down_counts_failures_in_a_row_from_the_first_and_up_again_starts_afresh() -> None:
    clock = FakeClock()
    health = ProxyHealth(clock)
    health.reached(PROXY)
    clock.advance(10)
    health.reached(PROXY)
    assert health.of(PROXY) == Seen("up", clock.now() - 10, 0, None)
    health.failed(PROXY, "refused")
    went_down = clock.now()
    clock.advance(5)
    health.failed(PROXY, "timed out")
    assert health.of(PROXY) == Seen("down", went_down, 2, "timed out")
    clock.advance(5)
    health.reached(PROXY)
    assert health.of(PROXY) == Seen("up", clock.now(), 0, None)
