from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

import aiohttp
import httpx
import pytest

from keyproxy.testing import BackgroundServer, FakeUpstream, Fault, FaultKind, serve_fake_upstream

KEY = "sk-fake-0001-abcdefghijkl"


async def hello(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


def test_port_zero_binds_an_ephemeral_port() -> None:
    with BackgroundServer(hello) as server:
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"


def test_serves_any_asgi_app_over_a_real_socket() -> None:
    with BackgroundServer(hello) as server:
        assert httpx.get(server.url).text == "hello"


def test_runs_the_app_lifespan_around_serving() -> None:
    events: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            events.append("startup")
            await send({"type": "lifespan.startup.complete"})
            await receive()
            events.append("shutdown")
            await send({"type": "lifespan.shutdown.complete"})
        else:
            await hello(scope, receive, send)

    with BackgroundServer(app):
        assert events == ["startup"]
    assert events == ["startup", "shutdown"]


def test_start_raises_when_the_app_fails_its_startup() -> None:
    async def failing(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no config"})

    with pytest.raises(RuntimeError, match="failed to start"), BackgroundServer(failing):
        pass


def test_stop_closes_the_port() -> None:
    with BackgroundServer(hello) as server:
        url = server.url
    with pytest.raises(httpx.ConnectError):
        httpx.get(url)


def test_start_and_stop_work_without_a_with_block() -> None:
    server = BackgroundServer(hello)
    server.start()
    try:
        assert httpx.get(server.url).status_code == 200
    finally:
        server.stop()
    server.stop()


def test_stop_does_not_wait_forever_for_a_hanging_request() -> None:
    upstream = FakeUpstream()
    upstream.set_fault(KEY, Fault(FaultKind.HANG))
    outcomes: list[object] = []

    def call(url: str) -> None:
        try:
            headers = {"authorization": f"Bearer {KEY}"}
            outcomes.append(httpx.get(f"{url}/v1/models", headers=headers, timeout=30).status_code)
        except httpx.HTTPError as exc:
            outcomes.append(exc)

    with BackgroundServer(upstream, graceful_timeout=1) as server:
        caller = threading.Thread(target=call, args=(server.url,))
        caller.start()
        assert upstream.wait_for_requests(1)
    caller.join(5)
    assert not caller.is_alive()
    assert len(outcomes) == 1


def test_serve_fake_upstream_serves_until_cancelled() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def scenario() -> int:
        serving = asyncio.create_task(serve_fake_upstream("127.0.0.1", port, models=["only-model"]))
        status = 0
        async with aiohttp.ClientSession() as session:
            # The server binds inside the task; try until it answers, within a bound.
            for _ in range(500):
                try:
                    async with session.get(
                        f"http://127.0.0.1:{port}/v1/models", headers={"authorization": "Bearer k"}
                    ) as response:
                        status = response.status
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.01)
        serving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await serving
        return status

    assert asyncio.run(scenario()) == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/v1/models")
