"""A wrong or missing proxy key: answered 401 after a pause, and logged once a minute per client."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from keyproxy.api.auth import ProxyKey
from keyproxy.errors import AuthenticationFailed
from keyproxy.testing import FakeClock

KEY = "kp-secret-0123456789abcdef"


def scope(key: str | None = None, client: str = "203.0.113.7") -> dict[str, Any]:
    headers = [(b"authorization", b"Bearer " + key.encode())] if key else []
    return {"type": "http", "path": "/v1/chat/completions", "headers": headers, "client": (client, 4321)}


def test_the_right_key_is_accepted_and_a_wrong_or_missing_one_is_not() -> None:
    proxy_key = ProxyKey(KEY, FakeClock(), 0.5)
    assert proxy_key.accepts(scope(KEY))
    assert not proxy_key.accepts(scope("kp-guess")) and not proxy_key.accepts(scope())


def test_a_refusal_is_answered_only_after_the_pause() -> None:
    clock = FakeClock()
    started = clock.now()
    error = asyncio.run(ProxyKey(KEY, clock, 0.5).refuse(scope("kp-guess")))
    assert isinstance(error, AuthenticationFailed)
    assert clock.now() - started == pytest.approx(0.5)


def test_failures_are_logged_once_a_minute_per_client_with_the_count_in_between(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    proxy_key = ProxyKey(KEY, clock, 0.0)
    with caplog.at_level(logging.WARNING, logger="keyproxy.auth"):
        for _ in range(3):
            asyncio.run(proxy_key.refuse(scope("kp-guess")))
        asyncio.run(proxy_key.refuse(scope("kp-guess", client="198.51.100.9")))
        clock.advance(61)
        asyncio.run(proxy_key.refuse(scope("kp-guess")))
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 3
    assert "from 203.0.113.7" in lines[0] and "from 198.51.100.9" in lines[1]
    assert lines[2].endswith("(2 more since the last line)")
    assert all("kp-guess" not in line for line in lines)
