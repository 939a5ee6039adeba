"""Azure OpenAI behind keyproxy, in memory against the fake's Azure routes: both address schemes, every inbound
dialect, and a deployment one resource lacks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from keyproxy.testing import AppClient, ASGITransport, FakeUpstream
from keyproxy.wiring import build_app
from support import KEYS, proxy_settings

HELLO = [{"role": "user", "content": "hi"}]
VERSION = "2024-10-21"
MakeProxy = Callable[..., AppClient]


@pytest.fixture
def azure(fake_upstream: FakeUpstream, tmp_path: Any) -> Iterator[MakeProxy]:
    clients: list[AppClient] = []

    def make(**env: str) -> AppClient:
        values = {"AZURE_API_BASE": "http://fake-upstream.test", "KEYPROXY_STATE": "memory", "ROTATION_TOLERANCE": "0"}
        values.update({f"AZURE_API_KEY_{n}": key for n, key in enumerate(KEYS, start=1)}, **env)
        client = AppClient(build_app(proxy_settings(values, tmp_path), transport=ASGITransport(fake_upstream)))
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.mark.parametrize(
    ("env", "path"),
    [
        ({"AZURE_API_VERSION": VERSION}, "/openai/deployments/fake-chat/chat/completions"),
        ({}, "/openai/v1/chat/completions"),
    ],
)
def test_chat_reaches_the_deployment_with_the_key_in_api_key(
    azure: MakeProxy, fake_upstream: FakeUpstream, env: dict[str, str], path: str
) -> None:
    response = azure(**env).post("/v1/chat/completions", json={"model": "azure/fake-chat", "messages": HELLO})
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["role"] == "assistant"
    sent = fake_upstream.requests[-1]
    assert (sent.path, sent.key) == (path, KEYS[0])
    assert "authorization" not in sent.headers


def test_an_anthropic_client_is_served_by_an_azure_deployment(azure: MakeProxy) -> None:
    body = {"model": "azure/fake-chat", "max_tokens": 64, "messages": HELLO}
    proxy = azure(AZURE_API_VERSION=VERSION)
    response = proxy.post("/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"})
    assert response.status_code == 200
    assert response.json()["type"] == "message"


def test_embeddings_go_to_the_deployment(azure: MakeProxy, fake_upstream: FakeUpstream) -> None:
    proxy = azure(AZURE_API_VERSION=VERSION)
    response = proxy.post("/v1/embeddings", json={"model": "azure/fake-embed", "input": "hi"})
    assert response.status_code == 200
    assert fake_upstream.requests[-1].path == "/openai/deployments/fake-embed/embeddings"


def test_a_deployment_the_resource_lacks_is_a_404_for_the_client_and_no_key_is_benched(azure: MakeProxy) -> None:
    proxy = azure(AZURE_API_VERSION=VERSION)
    response = proxy.post("/v1/chat/completions", json={"model": "azure/gpt-nowhere", "messages": HELLO})
    assert response.status_code == 404
    keys = proxy.get("/v1/status").json()["providers"]["azure"]["keys"]
    assert [key["benched_until"] for key in keys] == [None, None, None]
    assert proxy.post("/v1/chat/completions", json={"model": "azure/fake-chat", "messages": HELLO}).status_code == 200


def test_a_bare_model_name_is_never_sent_to_azure_whose_list_names_models_not_deployments(
    azure: MakeProxy, fake_upstream: FakeUpstream
) -> None:
    response = azure().post("/v1/chat/completions", json={"model": "fake-chat", "messages": HELLO})
    assert response.status_code == 404
    assert not [request for request in fake_upstream.requests if request.path.endswith("/chat/completions")]
