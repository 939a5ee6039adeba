"""Constants and helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

KEYS = ("sk-test-alpha-000000001", "sk-test-bravo-000000002", "sk-test-charlie-00000003")
PROXY_KEY = "kp-proxy-secret-0123456789"

StartProxy = Callable[..., str]


def provider_env(base: str, keys: tuple[str, ...] = KEYS, name: str = "fake") -> dict[str, str]:
    """A provider over the fake upstream; tolerance 0 makes balanced rotation deterministic (key order)."""
    env = {f"{name.upper()}_API_BASE": base, "ROTATION_TOLERANCE": "0"}
    env.update({f"{name.upper()}_API_KEY_{n}": key for n, key in enumerate(keys, start=1)})
    return env
