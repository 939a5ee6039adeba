"""What the inbound API answers to bad requests, bad keys and filtered models, always in OpenAI's error shape."""

from __future__ import annotations

import httpx
import pytest

from keyproxy.testing import FakeUpstream, Fault, FaultKind
from support import KEYS, PROXY_KEY, StartProxy

CHAT = {"model": "fake/fake-chat", "messages": [{"role": "user", "content": "hi"}]}
AUTH = {"Authorization": f"Bearer {PROXY_KEY}"}


@pytest.fixture
def url(start_proxy: StartProxy) -> str:
    return start_proxy({"PROXY_API_KEY": PROXY_KEY, "KEYPROXY_MAX_BODY_BYTES": "4096"})


def post(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
    content = body if body is not None else httpx.Request("POST", "/", json=CHAT).content
    sent = AUTH if headers is None else headers
    return httpx.post(url + "/v1/chat/completions", content=content, headers=sent, timeout=10)


def error_of(response: httpx.Response) -> dict[str, object]:
    error = response.json()["error"]
    assert set(error) == {"message", "type", "code"}
    return error  # type: ignore[no-any-return]


def test_missing_proxy_key_is_401(url: str) -> None:
    response = post(url, headers={})
    assert response.status_code == 401
    assert error_of(response)["type"] == "authentication_error"


def test_wrong_proxy_key_is_401(url: str) -> None:
    assert post(url, headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_proxy_key_is_accepted_as_x_api_key(url: str) -> None:
    assert post(url, headers={"x-api-key": PROXY_KEY}).status_code == 200


def test_invalid_json_is_400(url: str) -> None:
    response = post(url, b"{not json")
    assert response.status_code == 400
    assert "JSON" in str(error_of(response)["message"])


def test_a_body_that_is_not_an_object_is_400(url: str) -> None:
    assert post(url, b"[1, 2]").status_code == 400


def test_a_request_without_model_is_400(url: str) -> None:
    assert post(url, b'{"messages": []}').status_code == 400


def test_unknown_provider_is_400_naming_it_and_the_configured_ones(url: str) -> None:
    response = post(url, b'{"model": "nosuch/x", "messages": []}')
    assert response.status_code == 400
    message = str(error_of(response)["message"])
    assert "'nosuch'" in message and "fake" in message


def test_a_body_over_the_limit_is_413(url: str) -> None:
    big = b'{"model": "fake/fake-chat", "pad": "' + b"x" * 5000 + b'"}'
    response = post(url, big)
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_a_chunked_body_over_the_limit_is_413(url: str) -> None:
    def pieces() -> object:
        yield b'{"model": "fake/fake-chat", "pad": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    response = httpx.post(url + "/v1/chat/completions", content=pieces(), headers=AUTH)  # type: ignore[arg-type]
    assert response.status_code == 413


def test_unknown_route_is_404_in_openai_shape(url: str) -> None:
    response = httpx.get(url + "/v1/nothing-here", headers=AUTH)
    assert response.status_code == 404
    error_of(response)


def test_health_needs_no_key_and_reveals_nothing_secret(url: str) -> None:
    response = httpx.get(url + "/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert PROXY_KEY not in response.text and all(key not in response.text for key in KEYS)


def test_providers_lists_names_and_key_counts_but_no_keys(url: str) -> None:
    response = httpx.get(url + "/v1/providers", headers=AUTH)
    provider = response.json()["data"][0]
    assert provider["name"] == "fake" and provider["keys"] == len(KEYS)
    assert all(key not in response.text for key in KEYS)


def test_paths_without_the_v1_prefix_work_too(url: str) -> None:
    response = httpx.post(url + "/chat/completions", json=CHAT, headers=AUTH)
    assert response.status_code == 200


def test_an_upstream_error_that_echoes_the_key_reaches_the_client_masked(
    start_proxy: StartProxy, upstream: tuple[FakeUpstream, str]
) -> None:
    fake, _ = upstream
    fake.set_fault(KEYS[0], Fault(FaultKind.NOT_FOUND))
    url = start_proxy()
    response = httpx.post(url + "/v1/chat/completions", json={**CHAT, "model": f"fake/{KEYS[0]}"})
    assert response.status_code == 404
    assert KEYS[0] not in response.text


def test_ignored_models_are_refused_and_hidden(start_proxy: StartProxy) -> None:
    url = start_proxy({"IGNORE_MODELS_FAKE": "*large*"})
    response = httpx.post(url + "/v1/chat/completions", json={**CHAT, "model": "fake/fake-chat-large"})
    assert response.status_code == 404
    listed = [model["id"] for model in httpx.get(url + "/v1/models").json()["data"]]
    assert listed == ["fake/fake-chat", "fake/fake-embed"]


def test_the_whitelist_overrides_an_ignore_all(start_proxy: StartProxy) -> None:
    url = start_proxy({"IGNORE_MODELS_FAKE": "*", "WHITELIST_MODELS_FAKE": "fake-chat"})
    listed = [model["id"] for model in httpx.get(url + "/v1/models").json()["data"]]
    assert listed == ["fake/fake-chat"]
    assert httpx.post(url + "/v1/chat/completions", json=CHAT).status_code == 200


@pytest.mark.parametrize(("mode", "expected"), [("remove", None), ("set", 1.0), ("false", 0)])
def test_temperature_zero_override(
    mode: str, expected: float | None, start_proxy: StartProxy, upstream: tuple[FakeUpstream, str]
) -> None:
    url = start_proxy({"OVERRIDE_TEMPERATURE_ZERO": mode})
    httpx.post(url + "/v1/chat/completions", json={**CHAT, "temperature": 0})
    assert upstream[0].requests[-1].body.get("temperature") == expected


def test_a_failing_provider_does_not_break_the_model_list(
    start_proxy: StartProxy, upstream: tuple[FakeUpstream, str]
) -> None:
    providers = {
        "FAKE_API_BASE": upstream[1], "FAKE_API_KEY": KEYS[0],
        "DEAD_API_BASE": "http://127.0.0.1:9/v1", "DEAD_API_KEY": "sk-dead-000000000001",
    }  # fmt: skip
    url = start_proxy(providers=providers)
    listed = [model["id"] for model in httpx.get(url + "/v1/models", timeout=20).json()["data"]]
    assert listed == ["fake/fake-chat", "fake/fake-chat-large", "fake/fake-embed"]


def test_the_model_list_is_cached(start_proxy: StartProxy, upstream: tuple[FakeUpstream, str]) -> None:
    url = start_proxy()
    for _ in range(3):
        httpx.get(url + "/v1/models")
    assert sum(1 for request in upstream[0].requests if request.path.endswith("/models")) == 1
