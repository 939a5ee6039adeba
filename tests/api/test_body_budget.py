"""The bytes of request bodies held at once are bounded: a body that does not fit is a 503 with Retry-After,
in the route's dialect, while the bodies that fit are served. In memory: the budget is ASGI middleware."""

from __future__ import annotations

import asyncio

import msgspec

from keyproxy.api.body_budget import BodyBudget
from keyproxy.config import Credential, ProviderSettings, Settings
from keyproxy.config.settings import StateSettings
from keyproxy.testing import Exchange, Lifespan, Response, request
from keyproxy.transport import MockResponse, MockTransport, UpstreamRequest
from keyproxy.wiring import build_app

MIB = 1024 * 1024
ANSWER = msgspec.json.encode(
    {"id": "c", "object": "chat.completion", "created": 0, "model": "m",
     "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}
)  # fmt: skip
LARGE = 900_000
"""Two bodies this large do not fit in the budget of 1.5 MiB; one does."""


def chat(size: int) -> bytes:
    return msgspec.json.encode({"model": "p/m", "messages": [{"role": "user", "content": "x" * size}]})


def messages(size: int) -> bytes:
    body = {"model": "p/m", "max_tokens": 5, "messages": [{"role": "user", "content": "x" * size}]}
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


def budgeted(upstream: Upstream, proxy_key: str | None = None, auth_failure_pause: float = 0.0) -> BodyBudget:
    provider = ProviderSettings(
        name="p", protocol="openai", base_url="http://p.test/v1", credentials=(Credential("sk-p-0123456789", "P"),)
    )
    settings = Settings(
        providers={"p": provider}, state=StateSettings(backend="memory"), max_body_bytes=MIB,
        proxy_api_key=proxy_key, auth_failure_pause=auth_failure_pause,
    )  # fmt: skip
    return BodyBudget(build_app(settings, transport=MockTransport(upstream)), limit=3 * MIB // 2, max_body=MIB)


def while_a_large_body_is_held(app: BodyBudget, upstream: Upstream, exchanges: list[Exchange]) -> list[Response]:
    """Run `exchanges` one by one while a large chat body waits at the upstream, then let it finish."""

    async def scenario() -> list[Response]:
        async with Lifespan(app):
            held = asyncio.create_task(request(app, "POST", "/v1/chat/completions", body=chat(LARGE)))
            await upstream.holding.wait()
            answers = [await exchange.run() for exchange in exchanges]
            upstream.release.set()
            return [*answers, await held]

    return asyncio.run(scenario())


def test_a_body_beyond_the_bytes_in_flight_is_refused_with_503_while_one_within_passes() -> None:
    upstream = Upstream()
    app = budgeted(upstream)
    large = Exchange(app, "POST", "/v1/chat/completions", body=chat(LARGE))
    small = Exchange(app, "POST", "/v1/chat/completions", body=chat(1000))

    refused, served, held = while_a_large_body_is_held(app, upstream, [large, small])

    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["code"] == "gateway_overloaded"
    assert (served.status_code, held.status_code) == (200, 200)
    assert app.in_flight == 0


def test_a_refused_body_is_answered_in_its_routes_dialect() -> None:
    upstream = Upstream()
    app = budgeted(upstream)
    anthropic = Exchange(app, "POST", "/v1/messages", body=messages(LARGE))

    refused, _ = while_a_large_body_is_held(app, upstream, [anthropic])

    assert refused.status_code == 503
    assert refused.json()["type"] == "error"


def test_a_chunked_body_is_counted_as_it_arrives() -> None:
    upstream = Upstream()
    app = budgeted(upstream)
    body = chat(LARGE)
    pieces = [body[start : start + 65536] for start in range(0, len(body), 65536)]

    refused, _ = while_a_large_body_is_held(app, upstream, [Exchange(app, "POST", "/v1/chat/completions", body=pieces)])

    assert refused.status_code == 503
    assert app.in_flight == 0


def test_an_unauthenticated_request_reserves_nothing_while_it_is_kept_waiting() -> None:
    key = "kp-0123456789abcdef"
    upstream = Upstream()
    upstream.release.set()
    app = budgeted(upstream, proxy_key=key, auth_failure_pause=3600.0)

    async def scenario() -> Response:
        async with Lifespan(app):
            guessing = asyncio.create_task(request(app, "POST", "/v1/chat/completions", body=chat(LARGE)))
            for _ in range(10):
                await asyncio.sleep(0)  # let it reach its pause
            keyed = {"authorization": f"Bearer {key}"}
            served = await request(app, "POST", "/v1/chat/completions", headers=keyed, body=chat(LARGE))
            guessing.cancel()
            return served

    assert asyncio.run(scenario()).status_code == 200
