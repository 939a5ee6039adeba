"""AppClient: an ASGI app in memory from synchronous code, one event loop and one lifespan per block."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from keyproxy.testing import AppClient

Scope = dict[str, Any]


class Counter:
    """Counts requests in memory between startup and shutdown; answers with the count and the headers."""

    def __init__(self) -> None:
        self.phases: list[str] = []
        self.count = 0
        self.loops: set[int] = set()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        self.loops.add(id(asyncio.get_running_loop()))
        if scope["type"] == "lifespan":
            for phase in ("startup", "shutdown"):
                await receive()
                self.phases.append(phase)
                await send({"type": f"lifespan.{phase}.complete"})
            return
        self.count += 1
        headers = [(name, value) for name, value in scope["headers"] if name.startswith(b"x-")]
        body = f"{self.count} {scope['query_string'].decode()}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def test_every_request_and_the_lifespan_share_one_event_loop() -> None:
    app = Counter()
    with AppClient(app) as client:
        client.get("/")
        assert client.get("/").text == "2 "
    assert len(app.loops) == 1


def test_the_lifespan_runs_around_the_with_block() -> None:
    app = Counter()
    with AppClient(app):
        assert app.phases == ["startup"]
    assert app.phases == ["startup", "shutdown"]


def test_a_requests_own_headers_override_the_clients_whatever_their_case() -> None:
    with AppClient(Counter(), headers={"X-Team": "a", "X-Kept": "k"}) as client:
        response = client.get("/", headers={"x-team": "b"})
    assert (response.headers["x-team"], response.headers["x-kept"]) == ("b", "k")


def test_params_become_the_query_string() -> None:
    with AppClient(Counter()) as client:
        assert client.get("/", params={"provider": "fake"}).text == "1 provider=fake"


def test_a_request_outside_the_with_block_is_refused() -> None:
    with pytest.raises(RuntimeError, match="with"):
        AppClient(Counter()).get("/")
