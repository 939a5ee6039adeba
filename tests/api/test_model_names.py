"""Model names as clients send them: `provider/model`, an alias, or a bare name resolved through the default
provider or the model lists; an unknown one is 404 model_not_found. In memory, one fake upstream per provider."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from keyproxy.testing import AppClient, ASGITransport, FakeUpstream, Response
from keyproxy.wiring import build_app
from support import KEYS, by_host, provider_env, proxy_settings

PROVIDERS = {
    **provider_env("http://alpha.test/v1", KEYS[:1], "alpha"),
    **provider_env("http://bravo.test/v1", KEYS[1:2], "bravo"),
}
HI = [{"role": "user", "content": "hi"}]

Start = Callable[..., AppClient]


@pytest.fixture
def alpha() -> FakeUpstream:
    return FakeUpstream(models=("gpt-4o-mini", "shared-model", "org/with-slash"))


@pytest.fixture
def bravo() -> FakeUpstream:
    return FakeUpstream(models=("claude-haiku-4-5-20251001", "shared-model"))


@pytest.fixture
def start(alpha: FakeUpstream, bravo: FakeUpstream, tmp_path: Path) -> Iterator[Start]:
    """start(env, config=...) -> an AppClient of a proxy with providers alpha and bravo, each on its own fake."""
    numbers = itertools.count()
    with contextlib.ExitStack() as clients:

        def open_proxy(env: Mapping[str, str] | None = None, *, config: str | None = None) -> AppClient:
            data_dir = tmp_path / f"data-{next(numbers)}"
            settings = proxy_settings({**PROVIDERS, **(env or {})}, data_dir, config)
            transport = ASGITransport(by_host({"alpha.test": alpha, "bravo.test": bravo}))
            return clients.enter_context(AppClient(build_app(settings, transport=transport)))

        yield open_proxy


def chat(proxy: AppClient, model: str) -> Response:
    return proxy.post("/v1/chat/completions", json={"model": model, "messages": HI})


def model_list_requests(*upstreams: FakeUpstream) -> int:
    return sum(1 for upstream in upstreams for request in upstream.requests if request.path.endswith("/models"))


def test_a_bare_name_goes_to_the_provider_whose_model_list_names_it(start: Start, alpha: FakeUpstream) -> None:
    response = chat(start(), "gpt-4o-mini")
    assert response.status_code == 200
    assert response.headers["x-keyproxy-provider"] == "alpha"
    assert alpha.requests[-1].body["model"] == "gpt-4o-mini"


def test_claude_codes_background_model_reaches_the_provider_listing_it(start: Start, bravo: FakeUpstream) -> None:
    body = {"model": "claude-haiku-4-5-20251001", "max_tokens": 64, "messages": HI}
    response = start().post("/v1/messages", json=body)
    assert response.status_code == 200
    assert response.headers["x-keyproxy-provider"] == "bravo"


def test_a_bare_name_with_a_slash_is_looked_up_whole(start: Start, alpha: FakeUpstream) -> None:
    # "org" is not a configured provider, so "org/with-slash" is a model name, as aggregators spell theirs.
    response = chat(start(), "org/with-slash")
    assert response.status_code == 200
    assert alpha.requests[-1].body["model"] == "org/with-slash"


def test_a_name_several_providers_list_goes_to_the_first_in_provider_order(start: Start) -> None:
    assert chat(start(), "shared-model").headers["x-keyproxy-provider"] == "alpha"


def test_an_alias_comes_before_the_model_lists(start: Start) -> None:
    proxy = start(config="aliases:\n  shared-model: [bravo/shared-model]\n")
    assert chat(proxy, "shared-model").headers["x-keyproxy-provider"] == "bravo"


def test_the_default_provider_takes_every_bare_name_without_reading_model_lists(
    start: Start, alpha: FakeUpstream, bravo: FakeUpstream
) -> None:
    proxy = start({"KEYPROXY_DEFAULT_PROVIDER": "bravo"})
    response = chat(proxy, "gpt-4o-mini")
    assert response.headers["x-keyproxy-provider"] == "bravo"
    assert bravo.requests[-1].body["model"] == "gpt-4o-mini"
    assert model_list_requests(alpha, bravo) == 0


def test_provider_slash_model_reads_no_model_list(start: Start, alpha: FakeUpstream, bravo: FakeUpstream) -> None:
    response = chat(start(), "alpha/anything-at-all")
    assert response.status_code == 200
    assert alpha.requests[-1].body["model"] == "anything-at-all"
    assert model_list_requests(alpha, bravo) == 0


def test_model_lists_are_fetched_once_for_many_bare_requests(
    start: Start, alpha: FakeUpstream, bravo: FakeUpstream
) -> None:
    proxy = start()
    for _ in range(3):
        assert chat(proxy, "gpt-4o-mini").status_code == 200
    assert chat(proxy, "nothing-lists-this").status_code == 404
    assert model_list_requests(alpha) == 1 and model_list_requests(bravo) == 1


def test_an_unknown_bare_name_is_404_model_not_found_naming_it(start: Start) -> None:
    response = chat(start(), "gpt-9-ultra")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "model_not_found" and error["type"] == "invalid_request_error"
    assert "'gpt-9-ultra'" in error["message"] and "alpha, bravo" in error["message"]


def test_an_unknown_bare_name_is_not_found_error_for_anthropic_clients(start: Start) -> None:
    body = {"model": "claude-opus-99", "max_tokens": 64, "messages": HI}
    response = start().post("/v1/messages", json=body)
    assert response.status_code == 404
    assert response.json()["type"] == "error"
    assert response.json()["error"]["type"] == "not_found_error"
    assert "claude-opus-99" in response.json()["error"]["message"]


def test_a_bare_name_the_providers_filters_hide_is_not_found(start: Start, alpha: FakeUpstream) -> None:
    response = chat(start({"IGNORE_MODELS_ALPHA": "gpt-4o*"}), "gpt-4o-mini")
    assert response.status_code == 404
    assert not [request for request in alpha.requests if request.path.endswith("/chat/completions")]


def test_count_tokens_resolves_a_bare_name_too(start: Start) -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "four words right here"}]}
    response = start().post("/v1/messages/count_tokens", json=body)
    assert response.status_code == 200 and response.json()["input_tokens"] >= 1


def test_configured_models_are_listed_and_go_upstream_as_their_id(start: Start, alpha: FakeUpstream) -> None:
    proxy = start({"ALPHA_MODELS": '{"kimi": {"id": "moonshot/kimi-k2"}}'})
    listed = [model["id"] for model in proxy.get("/v1/models").json()["data"]]
    assert listed[:2] == ["alpha/kimi", "alpha/gpt-4o-mini"]
    for name in ("kimi", "alpha/kimi"):
        assert chat(proxy, name).headers["x-keyproxy-provider"] == "alpha"
        assert alpha.requests[-1].body["model"] == "moonshot/kimi-k2"
