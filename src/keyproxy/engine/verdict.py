"""What a request no key answered gets, decided from the keys' statuses: pure, the router supplies them."""

from __future__ import annotations

from collections.abc import Sequence

from keyproxy.engine.holds import earliest
from keyproxy.engine.pool import Pool
from keyproxy.engine.selection import Exhausted, choose
from keyproxy.errors import DeadlineExceeded, ErrorClass, GatewayError, NoKeyAvailable, UpstreamError, UpstreamFailed
from keyproxy.state.base import KeyStatus

_OUT_OF_QUOTA = frozenset({ErrorClass.RATE_LIMITED, ErrorClass.QUOTA_EXHAUSTED})


def gave_up(
    pool: Pool, statuses: Sequence[KeyStatus], now: float, last_error: UpstreamError | None, total: float,
    *, out_of_time: bool = False, held: frozenset[str] = frozenset(), held_until: float | None = None,
) -> GatewayError:  # fmt: skip
    """Keys out of quota, or none to try: 429 (503 if none is merely cooling). Keys that failed otherwise:
    502, or 504 for a timeout or when the rotation budget (`total` seconds) ran out (`out_of_time`).
    Retry-After says when a key is back; past the budget it is always sent, since a client retrying at once
    is then what would work. `held`: keys the fair cycle or a cap holds out, until `held_until`."""
    choice = choose(statuses, pool.priorities, now, pool.policy, exclude=held)
    retry_at = earliest(choice.retry_at, held_until) if isinstance(choice, Exhausted) else None
    wait = max(1.0, retry_at - now) if retry_at else None
    failure: GatewayError
    if last_error is None or last_error.error_class in _OUT_OF_QUOTA:
        # Keys held out by the fair cycle or a cap are spent, not broken: 429, as for keys cooling.
        cooling = bool(held) or any(status.cooldown_until > now for status in statuses)
        later = f"; retry in {wait:.0f} s" if wait else ""
        failure = NoKeyAvailable(
            f"no key of provider {pool.name} is available{later}", retry_after=wait, recoverable=cooling
        )
    elif out_of_time:
        failure = DeadlineExceeded(
            f"no answer within the rotation budget of GLOBAL_TIMEOUT ({total:g} s); last error: {last_error.message}",
            retry_after=wait,
        )
    else:
        failure = UpstreamFailed(f"every key failed; last error: {last_error.message}", retry_after=wait)
        if last_error.status == 504:
            failure.status = 504
    if out_of_time and failure.retry_after is None:
        failure.retry_after = 1.0
    return failure
