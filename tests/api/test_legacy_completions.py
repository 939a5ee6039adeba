"""POST /v1/completions, the legacy text completions of autocomplete and fill-in-the-middle tools: passed through
to OpenAI-compatible providers with rotation and fail-over, refused with a 400 naming the provider elsewhere."""

from __future__ import annotations

from pathlib import Path

import msgspec

from keyproxy.testing import AppClient, FakeUpstream, Fault, FaultKind
from keyproxy.transport import MockResponse, MockTransport, UpstreamRequest
from keyproxy.wiring import build_app
from support import KEYS, MEMORY_BASE, OpenProxy, provider_env, proxy_settings

FIM = {"model": "fake/fake-chat", "prompt": "def add(a, b):\n", "suffix": "\n\nprint(add(1, 2))", "max_tokens": 16}


def test_a_completion_comes_back_with_only_the_model_name_changed(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    response = open_proxy().post("/v1/completions", json=FIM)
    assert response.status_code == 200
    answer = response.json()
    assert answer["object"] == "text_completion"
    assert answer["choices"][0]["text"] == "Echo: def add(a, b):\n"
    assert fake_upstream.requests[-1].path == "/v1/completions"
    assert fake_upstream.requests[-1].body == {**FIM, "model": "fake-chat"}


def test_the_client_bytes_reach_the_upstream_with_only_the_model_spliced(tmp_path: Path) -> None:
    async def answer(request: UpstreamRequest) -> MockResponse:
        return MockResponse.json(200, b'{"object": "text_completion", "choices": [{"text": "1"}]}')

    transport = MockTransport(answer)
    settings = proxy_settings(provider_env(MEMORY_BASE), tmp_path)
    raw = b'{"prompt":"x = ",  "model" : "fake/fake-chat","n":1, "echo":false}'
    with AppClient(build_app(settings, transport=transport)) as proxy:
        assert proxy.post("/v1/completions", body=raw).status_code == 200
    sent = transport.requests[0]
    assert sent.url == MEMORY_BASE + "/completions"
    assert sent.body == b'{"prompt":"x = ",  "model":"fake-chat","n":1, "echo":false}'


def test_a_streamed_completion_is_relayed_to_its_end(open_proxy: OpenProxy) -> None:
    response = open_proxy().post("/v1/completions", json={**FIM, "stream": True})
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix(b"data: ") for line in response.body.split(b"\n\n") if line]
    assert events[-1] == b"[DONE]"
    text = "".join(choice["text"] for event in events[:-1] for choice in msgspec.json.decode(event)["choices"])
    assert text == "Echo: def add(a, b):\n"


def test_a_completion_fails_over_to_the_next_key(open_proxy: OpenProxy, fake_upstream: FakeUpstream) -> None:
    fake_upstream.set_fault(KEYS[0], Fault(FaultKind.SERVER_ERROR))
    response = open_proxy().post("/v1/completions", json=FIM)
    assert response.status_code == 200
    assert [request.key for request in fake_upstream.requests] == [KEYS[0], KEYS[1]]
    assert response.headers["x-keyproxy-attempts"] == "2"


def test_a_streamed_completion_cut_before_its_first_chunk_fails_over(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.set_fault(KEYS[0], Fault(FaultKind.CUT_BEFORE_FIRST_CHUNK))
    response = open_proxy().post("/v1/completions", json={**FIM, "stream": True})
    assert response.body.endswith(b"data: [DONE]\n\n")
    assert [request.key for request in fake_upstream.requests] == [KEYS[0], KEYS[1]]


def test_an_anthropic_provider_is_a_400_naming_it(open_proxy: OpenProxy, fake_upstream: FakeUpstream) -> None:
    providers = {"ANTHROPIC_API_KEY": "sk-ant-test-000000000001", "ANTHROPIC_API_BASE": MEMORY_BASE}
    response = open_proxy(providers=providers).post("/v1/completions", json={**FIM, "model": "anthropic/claude-x"})
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "anthropic (anthropic protocol)" in message and "/v1/chat/completions" in message
    assert fake_upstream.requests == []


def test_a_gemini_provider_is_a_400_naming_it(open_proxy: OpenProxy) -> None:
    providers = {"GEMINI_API_KEY": "AIza-test-0000000000001"}
    response = open_proxy(providers=providers).post("/v1/completions", json={**FIM, "model": "gemini/gemini-x"})
    assert response.status_code == 400
    assert "gemini (gemini protocol)" in response.json()["error"]["message"]


def test_an_alias_skips_the_targets_without_legacy_completions(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    providers = {**provider_env(MEMORY_BASE), "GEMINI_API_KEY": "AIza-test-0000000000001"}
    config = "aliases:\n  coder: [gemini/gemini-x, fake/fake-chat]\n"
    response = open_proxy(providers=providers, config=config).post("/v1/completions", json={**FIM, "model": "coder"})
    assert response.status_code == 200
    assert response.headers["x-keyproxy-provider"] == "fake"


def test_the_path_without_v1_works_too(open_proxy: OpenProxy) -> None:
    assert open_proxy().post("/completions", json=FIM).status_code == 200
