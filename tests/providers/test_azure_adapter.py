"""Azure OpenAI's addresses, key header and error codes; the wire format is OpenAI's."""

from __future__ import annotations

import msgspec
import pytest

from keyproxy.errors import (
    InvalidRequest,
    UpstreamClientError,
    UpstreamKeyRejected,
    UpstreamModelRefused,
    UpstreamRateLimited,
)
from keyproxy.providers import Call, Endpoint
from keyproxy.providers.azure import AzureAdapter, azure_root

BASE = "https://contoso.openai.azure.com"
CLASSIC = AzureAdapter(BASE, "2024-10-21")
V1 = AzureAdapter(BASE + "/openai/v1/", None)


def call(endpoint: Endpoint = "chat", model: str = "gpt-4o-prod") -> Call:
    return Call("azure", model, endpoint, b'{"model":"gpt-4o-prod"}')


@pytest.mark.parametrize(
    ("endpoint", "operation"),
    [("chat", "chat/completions"), ("embeddings", "embeddings"), ("completions", "completions")],
)
def test_classic_urls_name_the_deployment_and_the_api_version(endpoint: Endpoint, operation: str) -> None:
    request = CLASSIC.request(call(endpoint), "azure-key-1")
    assert request.url == f"{BASE}/openai/deployments/gpt-4o-prod/{operation}?api-version=2024-10-21"
    assert request.body == b'{"model":"gpt-4o-prod"}'


def test_without_an_api_version_the_v1_api_is_used_and_the_body_names_the_deployment() -> None:
    assert V1.request(call(), "azure-key-1").url == f"{BASE}/openai/v1/chat/completions"
    assert V1.models_request("azure-key-1").url == f"{BASE}/openai/v1/models"


def test_the_key_goes_in_the_api_key_header_never_as_a_bearer() -> None:
    headers = CLASSIC.request(call(), "azure-key-1").headers
    assert headers["api-key"] == "azure-key-1"
    assert "Authorization" not in headers


def test_the_responses_api_is_per_resource_not_per_deployment() -> None:
    request = CLASSIC.request(Call("azure", "gpt-4o-prod", "responses", b"{}"), "k")
    assert request.url == f"{BASE}/openai/responses?api-version=2024-10-21"


def test_a_deployment_name_that_is_not_one_path_segment_is_refused_before_any_key_is_used() -> None:
    with pytest.raises(InvalidRequest):
        CLASSIC.request(call(model="../../x"), "k")


@pytest.mark.parametrize("given", [BASE, BASE + "/", BASE + "/openai", BASE + "/openai/v1"])
def test_the_resource_endpoint_is_found_however_the_base_url_was_written(given: str) -> None:
    assert azure_root(given) == BASE


def error(code: str, message: str = "m") -> bytes:
    return msgspec.json.encode({"error": {"code": code, "message": message}})


def test_a_missing_deployment_is_this_model_refused_for_this_key() -> None:
    assert type(CLASSIC.classify(404, {}, error("DeploymentNotFound"), 0.0)) is UpstreamModelRefused


def test_the_content_filter_is_the_clients_own_error() -> None:
    classified = CLASSIC.classify(400, {}, error("content_filter"), 0.0)
    assert type(classified) is UpstreamClientError
    assert classified.code == "content_filter"


def test_azures_rate_limit_hint_is_read() -> None:
    limited = CLASSIC.classify(429, {"retry-after-ms": "1500"}, error("429"), 100.0)
    assert type(limited) is UpstreamRateLimited
    assert limited.retry_after == pytest.approx(1.5)


def test_a_wrong_key_is_a_rejected_key() -> None:
    assert type(CLASSIC.classify(401, {}, error("401", "Access denied due to invalid subscription key"), 0.0)) is (
        UpstreamKeyRejected
    )
