"""No key, and no credential of a base URL, reaches a client, whatever encoding an upstream echoes it in."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import msgspec
import pytest

from keyproxy.testing import AppClient
from keyproxy.transport import MockResponse, MockTransport, UpstreamRequest
from keyproxy.wiring import build_app
from support import proxy_settings

KEY = "sk-fake/abcd+efgh=0123456789"
CHAT = {"model": "echo/m", "messages": [{"role": "user", "content": "hi"}]}


def proxy(tmp_path: Path, status: int, body: bytes, base: str = "http://echo.test/v1") -> AppClient:
    async def echo(request: UpstreamRequest) -> MockResponse:
        return MockResponse.json(status, body)

    settings = proxy_settings({"ECHO_API_BASE": base, "ECHO_API_KEY": KEY}, tmp_path)
    return AppClient(build_app(settings, transport=MockTransport(echo)))


def escaped(key: str) -> str:
    return msgspec.json.encode(key).decode()[1:-1].replace("/", "\\/")


@pytest.mark.parametrize(
    "echoed", [escaped(KEY), quote(KEY, safe=""), KEY], ids=["json-escaped", "url-encoded", "raw"]
)
def test_a_key_an_upstream_echoes_in_a_rejection_never_reaches_the_client(tmp_path: Path, echoed: str) -> None:
    body = b'{"error": {"message": "Incorrect API key provided: ' + echoed.encode() + b'"}}'
    with proxy(tmp_path, 401, body) as client:
        answer = client.post("/v1/chat/completions", json=CHAT)
    assert answer.status_code == 502
    assert "abcd+efgh" not in answer.text and "abcd%2Befgh" not in answer.text
    assert "...6789" in answer.json()["error"]["message"]


@pytest.mark.parametrize("echoed", [escaped(KEY), quote(KEY, safe="")], ids=["json-escaped", "url-encoded"])
def test_a_key_echoed_in_a_client_error_passed_through_is_masked(tmp_path: Path, echoed: str) -> None:
    body = b'{"error": {"message": "key ' + echoed.encode() + b' may not use this model", "code": "x"}}'
    with proxy(tmp_path, 400, body) as client:
        answer = client.post("/v1/chat/completions", json=CHAT)
    assert answer.status_code == 400
    assert "abcd" not in answer.text


def test_providers_shows_a_base_url_without_its_credentials(tmp_path: Path) -> None:
    base = "https://user:pa55word-0001@llm.example.test/v1?key=query-secret-0001"
    with proxy(tmp_path, 200, b"{}", base=base) as client:
        answer = client.get("/v1/providers")
    assert answer.json()["data"][0]["base_url"] == "https://llm.example.test/v1?key=...0001"
    assert "query-secret-0001" not in answer.text and "pa55word" not in answer.text
