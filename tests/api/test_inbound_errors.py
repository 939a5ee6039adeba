"""What the inbound API answers to bad requests, bad keys and filtered models, always in OpenAI's error shape."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest

from keyproxy.testing import AppClient, FakeUpstream, Fault, FaultKind, Response
from support import KEYS, PROXY_KEY, OpenProxy, Upstream

CHAT = {"model": "fake/fake-chat", "messages": [{"role": "user", "content": "hi"}]}
AUTH = {"Authorization": f"Bearer {PROXY_KEY}"}


@pytest.fixture
def proxy(open_proxy: OpenProxy) -> AppClient:
    # No pause after a wrong key here: the pause has its own tests (test_auth.py).
    env = {"PROXY_API_KEY": PROXY_KEY, "KEYPROXY_MAX_BODY_BYTES": "4096", "KEYPROXY_AUTH_FAILURE_PAUSE": "0"}
    return open_proxy(env)


def post(proxy: AppClient, body: bytes | None = None, headers: dict[str, str] | None = None) -> Response:
    content = body if body is not None else msgspec.json.encode(CHAT)
    sent = AUTH if headers is None else headers
    return proxy.post("/v1/chat/completions", body=content, headers=sent)


def error_of(response: Response) -> dict[str, object]:
    error = response.json()["error"]
    assert set(error) == {"message", "type", "code"}
    return error  # type: ignore[no-any-return]


def test_missing_proxy_key_is_401(proxy: AppClient) -> None:
    response = post(proxy, headers={})
    assert response.status_code == 401
    assert error_of(response)["type"] == "authentication_error"


def test_wrong_proxy_key_is_401(proxy: AppClient) -> None:
    assert post(proxy, headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_proxy_key_is_accepted_as_x_api_key(proxy: AppClient) -> None:
    assert post(proxy, headers={"x-api-key": PROXY_KEY}).status_code == 200


def test_invalid_json_is_400(proxy: AppClient) -> None:
    response = post(proxy, b"{not json")
    assert response.status_code == 400
    assert "JSON" in str(error_of(response)["message"])


def test_a_body_that_is_not_an_object_is_400(proxy: AppClient) -> None:
    assert post(proxy, b"[1, 2]").status_code == 400


def test_a_request_without_model_is_400(proxy: AppClient) -> None:
    assert post(proxy, b'{"messages": []}').status_code == 400


def test_an_unknown_provider_prefix_is_a_model_not_found_naming_it_and_the_configured_ones(proxy: AppClient) -> None:
    # Not a configured provider, so the whole name is a bare model name, and no provider lists it.
    response = post(proxy, b'{"model": "nosuch/x", "messages": [{"role": "user", "content": "hi"}]}')
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "model_not_found"
    assert "'nosuch/x'" in str(error["message"]) and "fake" in str(error["message"])


def test_a_body_over_the_limit_is_413(proxy: AppClient) -> None:
    big = b'{"model": "fake/fake-chat", "pad": "' + b"x" * 5000 + b'"}'
    response = post(proxy, big)
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_a_chunked_body_over_the_limit_is_413(proxy: AppClient) -> None:
    def pieces() -> Iterator[bytes]:
        yield b'{"model": "fake/fake-chat", "pad": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    response = proxy.post("/v1/chat/completions", body=pieces(), headers=AUTH)
    assert response.status_code == 413


def test_unknown_route_is_404_in_openai_shape(proxy: AppClient) -> None:
    response = proxy.get("/v1/nothing-here", headers=AUTH)
    assert response.status_code == 404
    error_of(response)


def test_health_needs_no_key_and_reveals_nothing_secret(proxy: AppClient) -> None:
    response = proxy.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert PROXY_KEY not in response.text and all(key not in response.text for key in KEYS)


def test_providers_lists_names_and_key_counts_but_no_keys(proxy: AppClient) -> None:
    response = proxy.get("/v1/providers", headers=AUTH)
    provider = response.json()["data"][0]
    assert provider["name"] == "fake" and provider["keys"] == len(KEYS)
    assert all(key not in response.text for key in KEYS)


def test_paths_without_the_v1_prefix_work_too(proxy: AppClient) -> None:
    response = proxy.post("/chat/completions", json=CHAT, headers=AUTH)
    assert response.status_code == 200


def test_an_upstream_error_that_echoes_the_key_reaches_the_client_masked(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    # Every key says the model is not theirs (a key refused alone is replaced by the next one).
    for key in KEYS:
        fake_upstream.set_fault(key, Fault(FaultKind.NOT_FOUND))
    proxy = open_proxy()
    response = proxy.post("/v1/chat/completions", json={**CHAT, "model": f"fake/{KEYS[0]}"})
    assert response.status_code == 404
    assert KEYS[0] not in response.text


def test_ignored_models_are_refused_and_hidden(open_proxy: OpenProxy) -> None:
    proxy = open_proxy({"IGNORE_MODELS_FAKE": "*large*"})
    response = proxy.post("/v1/chat/completions", json={**CHAT, "model": "fake/fake-chat-large"})
    assert response.status_code == 404
    listed = [model["id"] for model in proxy.get("/v1/models").json()["data"]]
    assert listed == ["fake/fake-chat", "fake/fake-embed"]


def test_the_whitelist_overrides_an_ignore_all(open_proxy: OpenProxy) -> None:
    proxy = open_proxy({"IGNORE_MODELS_FAKE": "*", "WHITELIST_MODELS_FAKE": "fake-chat"})
    listed = [model["id"] for model in proxy.get("/v1/models").json()["data"]]
    assert listed == ["fake/fake-chat"]
    assert proxy.post("/v1/chat/completions", json=CHAT).status_code == 200


@pytest.mark.parametrize(("mode", "expected"), [("remove", None), ("set", 1.0), ("false", 0)])
def test_temperature_zero_override(
    mode: str, expected: float | None, open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    proxy = open_proxy({"OVERRIDE_TEMPERATURE_ZERO": mode})
    proxy.post("/v1/chat/completions", json={**CHAT, "temperature": 0})
    assert fake_upstream.requests[-1].body.get("temperature") == expected


def test_a_failing_provider_does_not_break_the_model_list(open_proxy: OpenProxy, upstream: Upstream) -> None:
    # Over the network: the dead provider's port really refuses the connection.
    providers = {
        "FAKE_API_BASE": upstream[1], "FAKE_API_KEY": KEYS[0],
        "DEAD_API_BASE": "http://127.0.0.1:9/v1", "DEAD_API_KEY": "sk-dead-000000000001",
    }  # fmt: skip
    proxy = open_proxy(providers=providers, network=True)
    listed = [model["id"] for model in proxy.get("/v1/models").json()["data"]]
    assert listed == ["fake/fake-chat", "fake/fake-chat-large", "fake/fake-embed"]


def test_the_model_list_is_cached(open_proxy: OpenProxy, fake_upstream: FakeUpstream) -> None:
    proxy = open_proxy()
    for _ in range(3):
        proxy.get("/v1/models")
    assert sum(1 for request in fake_upstream.requests if request.path.endswith("/models")) == 1
