"""Helpers for the API tests: routes called in memory."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from keyproxy.api.asgi import Message
from keyproxy.api.usage_routes import UsageRoutes
from keyproxy.state import MemoryStore
from keyproxy.testing import FakeClock
from keyproxy.usage.book import UsageRows
from keyproxy.usage.prices import PriceTable


class _Holding(MemoryStore):
    def __init__(self, rows: UsageRows) -> None:
        super().__init__()
        self.rows = rows

    async def usage(
        self, provider: str | None = None, model: str | None = None, since: str | None = None, until: str | None = None
    ) -> UsageRows:
        return self.rows


def usage_json(rows: UsageRows, query: bytes = b"") -> dict[str, Any]:
    """What GET /v1/usage answers when the store holds `rows` and no provider is configured."""

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    routes = UsageRoutes({}, _Holding(rows), FakeClock(), PriceTable())
    scope = {"type": "http", "method": "GET", "path": "/v1/usage", "query_string": query}
    asyncio.run(routes.usage(scope, receive, send))
    assert sent[0]["status"] == 200
    body: dict[str, Any] = json.loads(b"".join(message.get("body", b"") for message in sent[1:]))
    return body
