"""Anthropic's Messages protocol: native for /v1/messages clients, translated for OpenAI clients."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping

import msgspec

from keyproxy.errors import (
    InvalidRequest,
    InvalidUpstreamResponse,
    UpstreamKeyRejected,
    UpstreamRateLimited,
    UpstreamServerError,
    UpstreamStatusError,
    status_error_class,
)
from keyproxy.providers.base import Endpoint
from keyproxy.providers.hints.ratelimit_headers import reset_hint
from keyproxy.providers.hints.retry_after import parse_retry_after
from keyproxy.providers.wire import error_message, error_object, load_answer
from keyproxy.translate.anthropic_request import chat_to_messages
from keyproxy.translate.anthropic_response import messages_response_to_chat
from keyproxy.translate.anthropic_stream import MessagesToChatStream
from keyproxy.translate.stream import translated
from keyproxy.transport.base import RequestTimeouts, UpstreamRequest

VERSION = "2023-06-01"
_PATHS: dict[str, str] = {"chat": "/messages", "messages": "/messages", "count_tokens": "/messages/count_tokens"}
# By error type first: Anthropic's types say more than its statuses (a 529 is an overload, not a bad key).
_TYPES: dict[str, type[UpstreamStatusError]] = {
    "rate_limit_error": UpstreamRateLimited,
    "overloaded_error": UpstreamServerError,
    "api_error": UpstreamServerError,
    "timeout_error": UpstreamServerError,
    "authentication_error": UpstreamKeyRejected,
    "permission_error": UpstreamKeyRejected,
    "billing_error": UpstreamKeyRejected,
}


class AnthropicAdapter:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def _headers(self, secret: str) -> dict[str, str]:
        return {"x-api-key": secret, "anthropic-version": VERSION, "content-type": "application/json"}

    def request(
        self, endpoint: Endpoint, secret: str, body: bytes, timeouts: RequestTimeouts, *, stream: bool
    ) -> UpstreamRequest:
        path = _PATHS.get(endpoint)
        if path is None:
            raise InvalidRequest("Anthropic offers no embeddings endpoint")
        if endpoint == "chat":
            body = msgspec.json.encode(chat_to_messages(msgspec.json.decode(body)))
        return UpstreamRequest("POST", self.base_url + path, self._headers(secret), timeouts, body)

    def read_body(self, endpoint: Endpoint, body: bytes, sent: bytes) -> bytes:
        data = load_answer(body)
        if endpoint == "count_tokens":
            return body
        if not isinstance(data, dict) or data.get("type") != "message":
            raise InvalidUpstreamResponse("upstream answered 2xx without a message")
        if endpoint == "messages":
            return body
        model = data.get("model") or ""
        return msgspec.json.encode(messages_response_to_chat(data, model=model, created=int(time.time())))

    def read_stream(self, endpoint: Endpoint, chunks: AsyncIterator[bytes], sent: bytes) -> AsyncIterator[bytes]:
        if endpoint == "messages":
            return chunks
        model = msgspec.json.decode(sent).get("model", "")
        return translated(chunks, MessagesToChatStream(model, int(time.time())))

    def models_request(self, secret: str, timeouts: RequestTimeouts) -> UpstreamRequest:
        headers = self._headers(secret)
        del headers["content-type"]
        return UpstreamRequest("GET", self.base_url + "/models?limit=1000", headers, timeouts)

    def parse_models(self, body: bytes) -> list[str]:
        data = load_answer(body)
        entries = data.get("data") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise InvalidUpstreamResponse("model list has no data array")
        return [e["id"] for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str) and e["id"]]

    def classify(self, status: int, headers: Mapping[str, str], body: bytes, now: float) -> UpstreamStatusError:
        error = error_object(body)
        cls = _TYPES.get(str(error.get("type")), status_error_class(status))
        retry_after = parse_retry_after(headers, now)
        if retry_after is None and cls is UpstreamRateLimited:
            retry_after = reset_hint(headers, now)
        return cls(
            error_message(error, status), upstream_status=status, body=body, headers=headers,
            retry_after=retry_after,
        )  # fmt: skip
