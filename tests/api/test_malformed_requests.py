"""Client bodies no translator or parser can use are the client's 400, in the route's own error shape."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from keyproxy.config import Credential, ProviderSettings, Settings
from keyproxy.config.settings import StateSettings, UpstreamProtocol
from keyproxy.testing import AppClient, FakeClock
from keyproxy.transport import MockResponse, MockTransport, UpstreamRequest
from keyproxy.wiring import build_app

MEMORY = StateSettings(backend="memory")
"""Nothing written to the working directory's data dir, which other tests and runs would inherit."""

DEEP = b'{"model": "p/m", "messages": ' + b"[" * 1000 + b"]" * 1000 + b"}"
ROUTES = ["/v1/chat/completions", "/v1/messages", "/v1/responses", "/v1/embeddings", "/v1/messages/count_tokens"]


def proxy(protocol: UpstreamProtocol) -> AppClient:
    async def handler(request: UpstreamRequest) -> MockResponse:
        raise AssertionError("a request the proxy cannot read must not reach an upstream")

    credentials = (Credential(secret="sk-only-key-0000000001", source="TEST"),)
    provider = ProviderSettings(name="p", protocol=protocol, base_url="http://p.test/v1", credentials=credentials)
    settings = Settings(providers={"p": provider}, state=MEMORY)
    app = build_app(settings, transport=MockTransport(handler), clock=FakeClock())
    return AppClient(app)


def refused(answer: Any, path: str) -> str:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    if path.startswith("/v1/messages"):
        assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
        return str(body["error"]["message"])
    assert body["error"]["type"] == "invalid_request_error"
    return str(body["error"]["message"])


@pytest.mark.parametrize("path", ROUTES)
def test_json_nested_a_thousand_deep_is_a_400(path: str) -> None:
    with proxy("gemini") as client:
        refused(client.post(path, body=DEEP), path)


# An Anthropic client of an Anthropic upstream is passed through untranslated: the upstream judges its own bytes.
TRANSLATED = [(path, protocol) for path in ("/v1/chat/completions", "/v1/messages", "/v1/responses")
              for protocol in ("anthropic", "gemini") if (path, protocol) != ("/v1/messages", "anthropic")]  # fmt: skip


@pytest.mark.parametrize(("path", "protocol"), TRANSLATED)
def test_invalid_utf8_in_a_translated_request_is_a_400(path: str, protocol: UpstreamProtocol) -> None:
    body = b'{"model": "p/m", "max_tokens": 5, "input": "hi", "messages": [{"role": "user", "content": "\xff\xfe"}]}'
    with proxy(protocol) as client:
        assert "UTF-8" in refused(client.post(path, body=body), path)


@pytest.mark.parametrize("path", ["/v1/cost-estimate", "/v1/token-count", "/v1/admin/reset"])
def test_invalid_utf8_to_the_gateways_own_routes_is_a_400(path: str) -> None:
    with proxy("openai") as client:
        refused(client.post(path, body=b'{"provider": "\xff"}'), path)


@pytest.mark.parametrize("protocol", ["anthropic", "gemini"])
@pytest.mark.parametrize("stop", [5, [1, 2], {"a": "b"}, True])
def test_a_stop_that_is_neither_text_nor_a_list_of_texts_is_a_400(protocol: UpstreamProtocol, stop: Any) -> None:
    body = msgspec.json.encode({"model": "p/m", "messages": [{"role": "user", "content": "hi"}], "stop": stop})
    with proxy(protocol) as client:
        assert "stop must be a string or a list of strings" in refused(client.post("/v1/chat/completions", body=body),
                                                                       "/v1/chat/completions")  # fmt: skip


def test_a_previous_response_id_that_is_not_utf8_is_a_400() -> None:
    with proxy("openai") as client:
        refused(client.post("/v1/responses", body=b'{"model": "p/m", "input": "hi", "previous_response_id": "\xff"}'),
                "/v1/responses")  # fmt: skip
