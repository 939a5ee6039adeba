"""The Gemini adapter puts the model in the URL: only a safe single path segment may go there."""

from __future__ import annotations

import pytest

from keyproxy.errors import InvalidRequest
from keyproxy.providers import Call
from keyproxy.providers.gemini import GeminiAdapter
from keyproxy.testing import AppClient, FakeUpstream
from keyproxy.testing.asgi_transport import ASGITransport
from keyproxy.wiring import build_app
from support import proxy_settings

ADAPTER = GeminiAdapter("https://generativelanguage.test/v1beta")
CHAT = b'{"messages": [{"role": "user", "content": "hi"}]}'


def call(model: str) -> Call:
    return Call("gemini", model, "chat", CHAT)


@pytest.mark.parametrize(
    "model",
    [
        "../../x",
        "gemini-2.5-flash/../../files",
        "a?key=other",
        "a#b",
        "a%2F..",
        "a b",
        "a\nb",
        "gemini:countTokens",
        "",
    ],
)
def test_a_model_that_is_not_one_path_segment_is_refused(model: str) -> None:
    with pytest.raises(InvalidRequest, match="not a valid Gemini model name"):
        ADAPTER.request(call(model), "key")


@pytest.mark.parametrize(
    ("model", "path"),
    [("gemini-2.5-flash", "gemini-2.5-flash"), ("models/gemini-2.0-flash-001", "gemini-2.0-flash-001")],
)
def test_a_model_name_goes_into_the_url_as_one_segment(model: str, path: str) -> None:
    assert (
        ADAPTER.request(call(model), "key").url
        == f"https://generativelanguage.test/v1beta/models/{path}:generateContent"
    )


def test_a_path_in_the_model_never_reaches_the_upstream_with_a_key(tmp_path: object) -> None:
    upstream = FakeUpstream()
    settings = proxy_settings(
        {"GEMINI_API_KEY": "gemini-key-0123456789", "GEMINI_API_BASE": "http://g.test/v1beta"}, tmp_path
    )  # type: ignore[arg-type]
    with AppClient(build_app(settings, transport=ASGITransport(upstream))) as client:
        body = {"model": "gemini/../../x", "messages": [{"role": "user", "content": "hi"}]}
        answer = client.post("/v1/chat/completions", json=body)
    assert answer.status_code == 400
    assert upstream.requests == []
