"""What this instance last saw of each pool's shared statuses: a request chooses on it without asking Redis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from keyproxy.state.base import KeyStatus
from keyproxy.state.memory import SCOPED_LIMIT
from keyproxy.state.redis_keys import RedisKeys
from keyproxy.state.redis_wire import bulk

VIEW_AGE = 1.0
"""Seconds a view is chosen on: a request after a quiet spell asks Redis, so it does not balance on (or pass
over keys for) headroom and in-flight counts long gone. A key chosen on a view is checked again anyway."""

REFRESH = 0.05
"""Seconds after which a request's acquire brings the pool's statuses back with it: more often costs Redis
about 20 more reads per request; a refused acquire always brings them. What this instance itself starts
and ends shows at once (see View.statuses); other instances' requests show within this."""

Shared = tuple[float, float, int, int, float | None, float]
"""One key's shared state: cooldown end, bench end, in flight, failures, headroom fraction, its reset."""


@dataclass(slots=True)
class View:
    """One pool's key names (built and packed once, five per key as SHARE reads them) and its statuses as
    the last script returned them, at `seen`, with this instance's own requests in flight then (`mine`)."""

    key_ids: tuple[str, ...]
    names: list[bytes]
    packed: bytes
    slots: dict[str, bytes]
    """Per key, its in-flight counter, cooldown and bench names, packed for SHARE's `take`."""
    shared: list[Shared] = field(default_factory=list)
    mine: list[int] = field(default_factory=list)
    seen: float = float("-inf")
    asked: float = float("-inf")

    def due(self, now: float) -> bool:
        """Whether a request's acquire brings the pool's statuses back: once per REFRESH, however many
        requests are in flight when the view ages. At c=64 every acquire sent before the first answer came
        back would read the whole pool otherwise."""
        if now - max(self.seen, self.asked) > REFRESH:
            self.asked = now
            return True
        return False

    def update(self, fields: list[bytes]) -> None:
        """`fields`: six per key, as the SHARE script answers them. Chosen on once `mark`ed."""
        self.shared = [
            (_float(fields[i]), _float(fields[i + 1]), int(fields[i + 2] or 0), int(fields[i + 3] or 0),
             float(fields[i + 4]) if fields[i + 4] else None, _float(fields[i + 5]))
            for i in range(0, len(fields), 6)
        ]  # fmt: skip

    def forget(self) -> None:
        """Not to be chosen on again before it is read (Views.recent)."""
        self.seen = float("-inf")

    def mark(self, mine: list[KeyStatus], now: float) -> None:
        """This instance's own statuses as the view was read (its slots just taken and given back counted)."""
        self.mine = [status.in_flight for status in mine]
        self.seen = now

    def statuses(self, mine: list[KeyStatus]) -> list[KeyStatus]:
        """`mine` (this instance's own statuses, for decayed usage) with the shared state of the view; the
        in-flight counts moved by what this instance started and ended since."""
        return [
            KeyStatus(local.key_id, cooldown, bench, max(0, busy - then + local.in_flight), failures, local.usage,
                      local.last_used, room, reset)
            for local, then, (cooldown, bench, busy, failures, room, reset) in zip(mine, self.mine, self.shared,
                                                                                   strict=True)
        ]  # fmt: skip


class Views:
    """A view per provider and cooldown bucket, for the last key list read there."""

    def __init__(self, keys: RedisKeys) -> None:
        self._keys = keys
        self._views: dict[tuple[str, str], View] = {}

    def of(self, provider: str, key_ids: Sequence[str], model: str, *, replace: bool = True) -> View:
        """The view of these keys, made (empty, with its key names) when there is none or it has other keys:
        then it takes the place of the bucket's view, unless `replace` is False (a read of a few keys
        only) and the bucket has one."""
        view, key_ids = self._views.get((provider, model)), tuple(key_ids)
        if view is None or view.key_ids != key_ids:
            keys, names = self._keys, []
            for key_id in key_ids:
                names += [keys.cooldown(provider, key_id, model).encode(), keys.bench(provider, key_id).encode(),
                          keys.in_flight(provider, key_id).encode(), keys.failures(provider, key_id).encode(),
                          keys.headroom(provider, key_id, model).encode()]  # fmt: skip
            if view is None and len(self._views) >= SCOPED_LIMIT:
                # Buckets are model names clients send: past the bound the oldest view goes.
                del self._views[next(iter(self._views))]
            slots = {key_id: bulk(*names[5 * n + 2 : 5 * n + 3], *names[5 * n : 5 * n + 2])
                     for n, key_id in enumerate(key_ids)}  # fmt: skip
            fresh = View(key_ids, names, bulk(*names), slots)
            if view is None or replace:
                self._views[(provider, model)] = fresh
            view = fresh
        return view

    def recent(self, provider: str, key_ids: Sequence[str], model: str, now: float) -> View | None:
        view = self._views.get((provider, model))
        if view is None or now - view.seen > VIEW_AGE or view.key_ids != tuple(key_ids):
            return None
        return view

    def known(self, provider: str, model: str) -> View | None:
        """The view a request on this bucket just chose on, if any."""
        return self._views.get((provider, model))


def _float(value: bytes) -> float:
    return float(value) if value else 0.0
