"""Exchange, request and Lifespan: an ASGI app driven in memory as a server would drive it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from keyproxy.testing import Exchange, Lifespan, request

Scope = dict[str, Any]


class Echo:
    """Answers with what it received; keeps the scope and the request messages."""

    def __init__(self) -> None:
        self.scope: Scope = {}
        self.received: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        self.scope = scope
        body = b""
        while True:
            message = await receive()
            self.received.append(message)
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 201, "headers": [(b"X-Seen", b"yes")]})
        await send({"type": "http.response.body", "body": body})


async def streaming(scope: Scope, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    for piece in (b"data: 1\n\n", b"data: 2\n\n"):
        await send({"type": "http.response.body", "body": piece, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def test_a_request_gets_the_status_headers_and_body() -> None:
    response = asyncio.run(request(Echo(), "POST", "/echo", body=b"hello"))
    assert response.status_code == 201
    assert response.headers["x-seen"] == "yes"
    assert response.body == b"hello"
    assert response.complete


def test_a_streamed_body_is_joined_in_order() -> None:
    response = asyncio.run(request(streaming, "GET", "/events"))
    assert response.text == "data: 1\n\ndata: 2\n\n"
    assert [m["type"] for m in response.messages].count("http.response.body") == 3


def test_json_goes_with_its_content_type_and_length() -> None:
    app = Echo()
    response = asyncio.run(request(app, "POST", "/echo", json={"a": 1}))
    assert response.json() == {"a": 1}
    headers = dict(app.scope["headers"])
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"content-length"] == b"7"
    assert headers[b"host"] == b"testserver"


def test_a_body_in_pieces_arrives_in_several_messages_without_a_length() -> None:
    app = Echo()
    response = asyncio.run(request(app, "POST", "/echo", body=iter([b"ab", b"cd"])))
    assert response.body == b"abcd"
    assert [m["more_body"] for m in app.received] == [True, False]
    assert b"content-length" not in dict(app.scope["headers"])


def test_the_query_string_is_split_from_the_path() -> None:
    app = Echo()
    asyncio.run(request(app, "GET", "/v1/usage?provider=fake"))
    assert (app.scope["path"], app.scope["query_string"]) == ("/v1/usage", b"provider=fake")


def test_after_a_disconnect_the_app_is_told_and_its_response_stays_unfinished() -> None:
    told: list[str] = []

    async def endless(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        told.append((await receive())["type"])

    async def scenario() -> Any:
        exchange = Exchange(endless, "GET", "/")
        running = asyncio.create_task(exchange.run())
        await exchange.wait_for_body()
        exchange.disconnect()
        return await running

    response = asyncio.run(scenario())
    assert told == ["http.disconnect"]
    assert response.body == b"first"
    assert not response.complete


def test_an_app_that_returns_without_a_response_is_an_error() -> None:
    async def silent(scope: Scope, receive: Any, send: Any) -> None:
        return None

    with pytest.raises(RuntimeError, match="without a response"):
        asyncio.run(request(silent, "GET", "/"))


def test_lifespan_runs_startup_and_shutdown_around_the_block() -> None:
    events: list[str] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        for phase in ("startup", "shutdown"):
            await receive()
            events.append(phase)
            await send({"type": f"lifespan.{phase}.complete"})

    async def scenario() -> None:
        async with Lifespan(app):
            events.append("serving")

    asyncio.run(scenario())
    assert events == ["startup", "serving", "shutdown"]


def test_a_failed_startup_raises_with_the_apps_message() -> None:
    async def failing(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no config"})

    async def scenario() -> None:
        async with Lifespan(failing):
            pass

    with pytest.raises(RuntimeError, match="no config"):
        asyncio.run(scenario())


def test_an_app_without_lifespan_support_starts_and_stops_as_a_no_op() -> None:
    async def http_only(scope: Scope, receive: Any, send: Any) -> None:
        return None

    async def scenario() -> None:
        async with Lifespan(http_only):
            pass

    asyncio.run(scenario())
