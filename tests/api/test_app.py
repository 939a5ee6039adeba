"""The ASGI app around its routes, in memory: which dialect an error is spoken in, and that a response
that has started is never started again."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from keyproxy.api.anthropic_dialect import ANTHROPIC
from keyproxy.api.app import KeyproxyApp
from keyproxy.api.asgi import Receive, Scope, Send, send_bytes
from keyproxy.api.auth import ProxyKey
from keyproxy.api.dialect import Dialect
from keyproxy.api.openai_dialect import OPENAI
from keyproxy.api.route import Route
from keyproxy.errors import InvalidRequest
from keyproxy.testing import FakeClock

SSE = [(b"content-type", b"text/event-stream")]


def key(secret: str | None) -> ProxyKey:
    return ProxyKey(secret, FakeClock(), 0.0)


def exchange(app: KeyproxyApp, path: str, headers: list[tuple[bytes, bytes]] | None = None) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": headers or []}
    asyncio.run(app(scope, receive, send))
    return sent


def body(sent: list[dict[str, Any]]) -> bytes:
    return b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")


async def breaks_mid_stream(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": SSE})
    await send({"type": "http.response.body", "body": b'data: {"a": 1}\n\n', "more_body": True})
    raise KeyError("a bug in a translator")


async def breaks_mid_event(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": SSE})
    await send({"type": "http.response.body", "body": b'data: {"a"', "more_body": True})
    raise KeyError("a bug in a translator")


async def breaks_after_a_whole_answer(scope: Scope, receive: Receive, send: Send) -> None:
    await send_bytes(send, 200, b"{}")
    raise InvalidRequest("too late to say so")


def app_with(handler: Any, dialect: Dialect) -> KeyproxyApp:
    return KeyproxyApp(key(None), [{("POST", "/v1/x"): Route(handler, dialect)}])


@pytest.mark.parametrize(("dialect", "event"), [(OPENAI, b"data: {\"error\""), (ANTHROPIC, b"event: error\n")])
def test_an_error_after_a_stream_started_ends_it_with_the_dialects_error_event(dialect: Dialect, event: bytes) -> None:
    sent = exchange(app_with(breaks_mid_stream, dialect), "/v1/x")
    assert [message["type"] for message in sent].count("http.response.start") == 1
    assert body(sent).startswith(b'data: {"a": 1}\n\n' + event)
    assert sent[-1] == {"type": "http.response.body", "body": b""}


def test_an_error_event_after_half_an_event_starts_on_a_fresh_line() -> None:
    sent = exchange(app_with(breaks_mid_event, OPENAI), "/v1/x")
    assert body(sent).startswith(b'data: {"a"\n\ndata: {"error"')


def test_an_error_after_a_whole_answer_was_sent_sends_nothing_more() -> None:
    sent = exchange(app_with(breaks_after_a_whole_answer, OPENAI), "/v1/x")
    assert [message["type"] for message in sent] == ["http.response.start", "http.response.body"]
    assert body(sent) == b"{}"


async def refuses(scope: Scope, receive: Receive, send: Send) -> None:
    raise InvalidRequest("no")


def test_an_error_before_the_answer_is_in_the_routes_dialect() -> None:
    sent = exchange(app_with(refuses, ANTHROPIC), "/v1/x")
    expected = {"type": "error", "error": {"type": "invalid_request_error", "message": "no"}}
    assert msgspec.json.decode(body(sent)) == expected


@pytest.mark.parametrize(
    ("path", "shape"), [("/v1/x/batches", "anthropic"), ("/x/batches", "anthropic"), ("/v2/y", "openai")]
)
def test_a_path_no_route_serves_is_answered_in_the_dialect_of_the_route_it_extends(path: str, shape: str) -> None:
    sent = exchange(app_with(refuses, ANTHROPIC), path)
    error = msgspec.json.decode(body(sent))
    assert sent[0]["status"] == 404
    assert ("type" in error) is (shape == "anthropic")


def test_without_the_proxy_key_a_route_answers_401_in_its_dialect() -> None:
    app = KeyproxyApp(key("kp-secret-0123456789"), [{("POST", "/v1/x"): Route(refuses, ANTHROPIC)}])
    sent = exchange(app, "/v1/x")
    assert sent[0]["status"] == 401
    assert msgspec.json.decode(body(sent))["error"]["type"] == "authentication_error"


@pytest.mark.parametrize("scheme", [b"Bearer", b"bearer", b"BEARER"])
def test_the_bearer_scheme_is_read_whatever_its_case(scheme: bytes) -> None:
    app = KeyproxyApp(key("kp-secret-0123456789"), [{("POST", "/v1/x"): Route(breaks_after_a_whole_answer, OPENAI)}])
    sent = exchange(app, "/v1/x", [(b"authorization", scheme + b" kp-secret-0123456789")])
    assert sent[0]["status"] == 200


def test_a_bearer_key_in_another_case_is_refused() -> None:
    app = KeyproxyApp(key("kp-secret-0123456789"), [{("POST", "/v1/x"): Route(breaks_after_a_whole_answer, OPENAI)}])
    sent = exchange(app, "/v1/x", [(b"authorization", b"Bearer KP-SECRET-0123456789")])
    assert sent[0]["status"] == 401


def test_shutdown_ends_a_background_job_that_lost_a_cancel() -> None:
    rounds: list[int] = []
    waiting = asyncio.Event()

    async def job() -> None:
        # Loses its first cancel, as asyncio.wait_for can on Python 3.11 (python/cpython#86296).
        try:
            waiting.set()
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            rounds.append(1)
        await asyncio.Event().wait()

    async def lifespan() -> list[str]:
        app = KeyproxyApp(key(None), [], background=(job,))
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        sent: list[str] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message["type"])

        running = asyncio.create_task(app({"type": "lifespan"}, inbox.get, send))
        await inbox.put({"type": "lifespan.startup"})
        await waiting.wait()
        await inbox.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(running, 5)
        return sent

    assert asyncio.run(lifespan()) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert rounds == [1]
