"""Azure OpenAI: OpenAI's wire format at Azure's addresses, with the key in an `api-key` header.

Two address schemes: with an API version (`AZURE_API_VERSION`, `<P>_API_VERSION`) the classic
`/openai/deployments/{deployment}/{operation}?api-version=...`, where the model name is the deployment;
without one the v1 API (`/openai/v1/{operation}`, GA since August 2025), where the body names it.
Answers, streams, rate-limit headers and errors are OpenAI's, plus Azure's own codes classified here.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from keyproxy.errors import InvalidRequest, UpstreamModelRefused, UpstreamStatusError
from keyproxy.providers.base import Call
from keyproxy.providers.openai import OpenAIAdapter
from keyproxy.providers.wire import error_object, path_segment
from keyproxy.transport.base import UpstreamRequest

_OPERATIONS: dict[str, str] = {
    "chat": "chat/completions", "embeddings": "embeddings", "completions": "completions", "responses": "responses",
}  # fmt: skip
# Azure's code for a deployment the resource does not have: this key's resource cannot serve that model.
_NO_DEPLOYMENT = frozenset({"DeploymentNotFound"})


def azure_root(base_url: str) -> str:
    """The resource endpoint, whether the base URL was given with `/openai` or `/openai/v1` or without."""
    root = base_url.rstrip("/")
    for suffix in ("/openai/v1", "/openai"):
        root = root.removesuffix(suffix)
    return root


class AzureAdapter(OpenAIAdapter):
    def __init__(self, base_url: str, api_version: str | None) -> None:
        self.endpoint = azure_root(base_url)
        self.api_version = api_version
        super().__init__(f"{self.endpoint}/openai/v1")

    def _headers(self, secret: str, *, json_body: bool) -> dict[str, str]:
        headers = {"api-key": secret} if secret else {}
        if json_body:
            headers["Content-Type"] = "application/json"
        return headers

    def request(self, call: Call, secret: str) -> UpstreamRequest:
        operation = _OPERATIONS.get(call.endpoint)
        if operation is None:
            raise InvalidRequest(f"Azure OpenAI has no {call.endpoint} endpoint")
        if self.api_version is None:
            return super().request(call, secret)
        if call.endpoint == "responses":
            # The Responses API is not per deployment: the body names the deployment.
            url = f"{self.endpoint}/openai/responses"
            if call.resource:
                url += "/" + path_segment(call.resource, "response id")
        else:
            url = f"{self.endpoint}/openai/deployments/{path_segment(call.model, 'model name')}/{operation}"
        url += f"?api-version={quote(self.api_version, safe='')}"
        posted = call.method == "POST"
        return UpstreamRequest(call.method, url, self._headers(secret, json_body=posted), call.body if posted else None)

    def models_request(self, secret: str) -> UpstreamRequest:
        if self.api_version is None:
            return super().models_request(secret)
        url = f"{self.endpoint}/openai/models?api-version={quote(self.api_version, safe='')}"
        return UpstreamRequest("GET", url, self._headers(secret, json_body=False))

    def classify(self, status: int, headers: Mapping[str, str], body: bytes, now: float) -> UpstreamStatusError:
        classified = super().classify(status, headers, body, now)
        if status == 404 and error_object(body).get("code") in _NO_DEPLOYMENT:
            return UpstreamModelRefused(
                classified.message, upstream_status=status, body=body, headers=headers,
                retry_after=classified.retry_after,
            )  # fmt: skip
        return classified
