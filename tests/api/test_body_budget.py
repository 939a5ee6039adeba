"""The bytes of request bodies held at once are bounded: a body that does not fit is a 503 with Retry-After,
in the route's dialect, while the bodies that fit are served. In memory: the budget is ASGI middleware."""

from __future__ import annotations

import asyncio

import msgspec

from keyproxy.api.body_budget import BodyBudget
from keyproxy.config import Credential, ProviderSettings, Settings
from keyproxy.config.settings import StateSettings
from keyproxy.testing import Exchange, Lifespan, request
from keyproxy.transport import MockResponse, MockTransport, UpstreamRequest
from keyproxy.wiring import build_app

MIB = 1024 * 1024
ANSWER = msgspec.json.encode(
    {"id": "c", "object": "chat.completion", "created": 0, "model": "m",
     "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}
)  # fmt: skip


def chat(size: int, path: str = "chat") -> bytes:
    if path == "messages":
        body = {"model": "p/m", "max_tokens": 5, "messages": [{"role": "user", "content": "x" * size}]}
    else:
        body = {"model": "p/m", "messages": [{"role": "user", "content": "x" * size}]}
    return msgspec.json.encode(body)


class Upstream:
    """Answers at once, except a large body, which waits for `release`."""

    def __init__(self) -> None:
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, request: UpstreamRequest) -> MockResponse:
        if len(request.body or b"") > MIB // 2:
            self.holding.set()
            await self.release.wait()
        return MockResponse.json(200, ANSWER)


def budgeted(upstream: Upstream) -> BodyBudget:
    provider = ProviderSettings(
        name="p", protocol="openai", base_url="http://p.test/v1", credentials=(Credential("sk-p-0123456789", "P"),)
    )
    settings = Settings(providers={"p": provider}, state=StateSettings(backend="memory"), max_body_bytes=MIB)
    app = build_app(settings, transport=MockTransport(upstream))
    return BodyBudget(app, limit=3 * MIB // 2, max_body=MIB)


async def _a_body_beyond_the_bytes_in_flight_is_refused_with_503_while_one_within_passes() -> None:
    upstream = Upstream()
    app = budgeted(upstream)
    async with Lifespan(app):
        first = asyncio.create_task(request(app, "POST", "/v1/chat/completions", body=chat(900_000)))
        await upstream.holding.wait()

        refused = await request(app, "POST", "/v1/chat/completions", body=chat(900_000))
        small = await request(app, "POST", "/v1/chat/completions", body=chat(1000))
        upstream.release.set()
        served = await first

    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["code"] == "gateway_overloaded"
    assert (small.status_code, served.status_code) == (200, 200)
    assert app.in_flight == 0


async def _a_refused_body_is_answered_in_its_routes_dialect() -> None:
    upstream = Upstream()
    app = budgeted(upstream)
    async with Lifespan(app):
        first = asyncio.create_task(request(app, "POST", "/v1/chat/completions", body=chat(900_000)))
        await upstream.holding.wait()
        refused = await request(app, "POST", "/v1/messages", body=chat(900_000, "messages"))
        upstream.release.set()
        await first

    assert refused.status_code == 503
    assert refused.json()["type"] == "error"


async def _a_chunked_body_is_counted_as_it_arrives() -> None:
    upstream = Upstream()
    app = budgeted(upstream)
    async with Lifespan(app):
        first = asyncio.create_task(request(app, "POST", "/v1/chat/completions", body=chat(900_000)))
        await upstream.holding.wait()
        body = chat(900_000)
        pieces = [body[start : start + 65536] for start in range(0, len(body), 65536)]
        refused = await Exchange(app, "POST", "/v1/chat/completions", body=pieces).run()
        upstream.release.set()
        await first

    assert refused.status_code == 503
    assert app.in_flight == 0


async def _an_unauthenticated_request_reserves_nothing() -> None:
    app = budgeted(Upstream())
    app.app = build_app(Settings(proxy_api_key="kp-0123456789abcdef", auth_failure_pause=0.0))
    async with Lifespan(app):
        exchange = Exchange(app, "POST", "/v1/chat/completions", body=chat(900_000))
        refused = await exchange.run()

    assert refused.status_code == 401
    assert app.in_flight == 0


def test_a_body_beyond_the_bytes_in_flight_is_refused_with_503_while_one_within_passes() -> None:
    asyncio.run(_a_body_beyond_the_bytes_in_flight_is_refused_with_503_while_one_within_passes())


def test_a_refused_body_is_answered_in_its_routes_dialect() -> None:
    asyncio.run(_a_refused_body_is_answered_in_its_routes_dialect())


def test_a_chunked_body_is_counted_as_it_arrives() -> None:
    asyncio.run(_a_chunked_body_is_counted_as_it_arrives())


def test_an_unauthenticated_request_reserves_nothing() -> None:
    asyncio.run(_an_unauthenticated_request_reserves_nothing())
