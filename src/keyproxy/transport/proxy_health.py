"""What this instance last saw of each outbound proxy, for `keyproxy status`: whether a connection through it
opened or failed, and since when. Fed only when a connection through a proxy is opened, never per request.

Per instance, as the network path is. A failure here is the route's, not the key's (the key cools only
briefly, as for any transient failure, docs/configuration.md#outbound-proxies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from keyproxy.clock import Clock

_KEPT = 1024
"""Proxies remembered: they come from the configuration and run-time keys, a handful in practice."""


@dataclass(frozen=True, slots=True)
class Seen:
    state: Literal["up", "down"]
    since: float
    """When the proxy went into this state (its first success after failures, or its first failure)."""
    failures: int
    """Connections that failed in a row (0 when up)."""
    problem: str | None
    """The last failure's message, which names the proxy without its credentials."""


class ProxyHealth:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._seen: dict[str, Seen] = {}

    def reached(self, proxy: str) -> None:
        seen = self._seen.get(proxy)
        if seen is None or seen.state == "down":
            self._put(proxy, Seen("up", self._clock.now(), 0, None))

    def failed(self, proxy: str, problem: str) -> None:
        seen = self._seen.get(proxy)
        if seen is not None and seen.state == "down":
            self._seen[proxy] = Seen("down", seen.since, seen.failures + 1, problem)
        else:
            self._put(proxy, Seen("down", self._clock.now(), 1, problem))

    def of(self, proxy: str) -> Seen | None:
        """None: no connection through it was opened yet (requests may still be using one opened before)."""
        return self._seen.get(proxy)

    def _put(self, proxy: str, seen: Seen) -> None:
        if proxy not in self._seen and len(self._seen) >= _KEPT:
            del self._seen[next(iter(self._seen))]
        self._seen[proxy] = seen
