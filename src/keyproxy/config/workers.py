"""How many worker processes `keyproxy serve` runs: a number, or "auto" for one per core it may run on."""

from __future__ import annotations

import os

from keyproxy.config.values import ValueReader


def read_workers(reader: ValueReader, cli: str | None, redis_url: str | None) -> int:
    """`--workers` wins over KEYPROXY_WORKERS. More than one needs Redis: each worker is its own process, and
    only Redis makes the concurrency caps, cooldowns and benches hold across them."""
    name = "--workers" if cli is not None else "KEYPROXY_WORKERS"
    raw = (cli if cli is not None else reader.raw(name) or "1").strip().lower()
    if raw == "auto":
        count = _cores()
    elif raw.isdigit() and int(raw) >= 1:
        count = int(raw)
    else:
        reader.fail(name, f"expected a whole number of at least 1 or auto, got {raw!r}")
        return 1
    if count > 1 and redis_url is None:
        reader.fail(
            name,
            f"{count} workers need KEYPROXY_REDIS_URL: without Redis each worker would keep its own concurrency "
            "caps and cooldowns (docs/scaling.md)",
        )
        return 1
    return count


def _cores() -> int:
    """The cores this process may run on (a container's CPU set), not every core of the machine."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
