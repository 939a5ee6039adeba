"""`keyproxy fake-upstream`: the fake OpenAI-compatible upstream from keyproxy.testing, on a real port."""

from __future__ import annotations

import asyncio
import contextlib

from keyproxy.testing import serve_fake_upstream


def fake_upstream(host: str, port: int, keys: str | None) -> int:
    accepted = [key.strip() for key in keys.split(",") if key.strip()] if keys else None
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_fake_upstream(host, port, keys=accepted))
    return 0
