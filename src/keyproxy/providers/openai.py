"""The OpenAI chat-completions protocol, spoken by most providers and by any OpenAI-compatible server (also its
embeddings and legacy text completions, passed through as they are); and OpenAI's Responses API, for
upstreams that serve it themselves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from keyproxy.errors import (
    ErrorClass,
    InvalidRequest,
    InvalidUpstreamResponse,
    UpstreamClientError,
    UpstreamContextTooLong,
    UpstreamModelRefused,
    UpstreamQuotaExhausted,
    UpstreamStatusError,
    status_error_class,
)
from keyproxy.providers.base import Call, UsageReport
from keyproxy.providers.hints.google_errors import parse_google_error
from keyproxy.providers.hints.ratelimit_headers import reset_hint
from keyproxy.providers.hints.retry_after import parse_retry_after
from keyproxy.providers.wire import error_message, error_object, load_answer, path_segment
from keyproxy.transport.base import UpstreamRequest

_PATHS: dict[str, str] = {
    "chat": "/chat/completions", "embeddings": "/embeddings", "completions": "/completions", "responses": "/responses"
}  # fmt: skip
_QUOTA_CODES = frozenset({"insufficient_quota", "quota_exceeded", "billing_hard_limit_reached"})


class OpenAIAdapter:
    """`root` is the URL the OpenAI paths hang from."""

    def __init__(self, root: str) -> None:
        self.root = root

    def _headers(self, secret: str, *, json_body: bool) -> dict[str, str]:
        headers = {}
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
        if json_body:
            headers["Content-Type"] = "application/json"
        return headers

    def request(self, call: Call, secret: str) -> UpstreamRequest:
        path = _PATHS.get(call.endpoint)
        if path is None:
            raise InvalidRequest(f"an OpenAI-compatible provider has no {call.endpoint} endpoint")
        if call.resource:
            path += "/" + path_segment(call.resource, "response id")
        posted = call.method == "POST"
        headers = self._headers(secret, json_body=posted)
        return UpstreamRequest(call.method, self.root + path, headers, call.body if posted else None)

    def models_request(self, secret: str) -> UpstreamRequest:
        return UpstreamRequest("GET", self.root + "/models", self._headers(secret, json_body=False))

    def parse_models(self, body: bytes) -> list[str]:
        data = load_answer(body)
        entries = data.get("data") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise InvalidUpstreamResponse("model list has no data array")
        ids = [entry.get("id") for entry in entries if isinstance(entry, dict)]
        # Gemini's OpenAI endpoint names models "models/<id>".
        return [model.removeprefix("models/") for model in ids if isinstance(model, str) and model]

    def classify(self, status: int, headers: Mapping[str, str], body: bytes, now: float) -> UpstreamStatusError:
        error = error_object(body)
        retry_after = parse_retry_after(headers, now)
        cls = status_error_class(status)
        if status == 429:
            google = parse_google_error(error)
            if google is not None:
                # Gemini's OpenAI endpoint passes Google's own error details through.
                retry_after = retry_after if retry_after is not None else google.retry_after
                if google.daily:
                    cls = UpstreamQuotaExhausted
            if error.get("code") in _QUOTA_CODES or error.get("type") in _QUOTA_CODES:
                cls = UpstreamQuotaExhausted
            if retry_after is None:
                retry_after = reset_hint(headers, now)
        elif cls is UpstreamClientError and error.get("code") == "context_length_exceeded":
            cls = UpstreamContextTooLong
        elif status in (403, 404) and error.get("code") == "model_not_found":
            cls = UpstreamModelRefused
        classified = cls(
            error_message(error, status),
            upstream_status=status,
            body=body,
            headers=headers,
            retry_after=retry_after,
        )
        if classified.error_class is ErrorClass.CLIENT_ERROR and isinstance(error.get("code"), str) and error["code"]:
            # Kept for a client of another dialect, or when the body is rebuilt in OpenAI's shape.
            classified.code = error["code"]
        return classified

    def read_body(self, call: Call, body: bytes) -> bytes:
        data = load_answer(body)
        if call.endpoint == "responses":
            # A response (or the answer to its deletion) always has an id; its `error` field is null or a failure.
            if not isinstance(data, dict) or not isinstance(data.get("id"), str):
                raise InvalidUpstreamResponse("upstream answered 2xx without a response")
            return body
        if not isinstance(data, dict) or ("error" in data and not ("choices" in data or "data" in data)):
            raise InvalidUpstreamResponse("upstream answered 2xx without a completion")
        return body

    def read_stream(self, call: Call, chunks: AsyncIterator[bytes], report: UsageReport) -> AsyncIterator[bytes]:
        return chunks  # already OpenAI's format, usage chunk included when asked for: no extra hop per chunk
