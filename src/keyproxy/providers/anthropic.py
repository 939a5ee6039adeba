"""Anthropic's Messages protocol: native for /v1/messages clients, translated for OpenAI clients."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping

import msgspec

from keyproxy.errors import (
    ErrorClass,
    InvalidRequest,
    InvalidUpstreamResponse,
    UpstreamForbidden,
    UpstreamRateLimited,
    UpstreamStatusError,
    status_error_class,
)
from keyproxy.providers.base import Call, UsageReport, refusing_for
from keyproxy.providers.hints.ratelimit_headers import reset_hint
from keyproxy.providers.hints.retry_after import parse_retry_after
from keyproxy.providers.wire import asks_for_usage, error_message, error_object, load_answer
from keyproxy.translate.anthropic_errors import BY_NAME
from keyproxy.translate.anthropic_request import chat_to_messages
from keyproxy.translate.anthropic_response import messages_response_to_chat
from keyproxy.translate.anthropic_stream import MessagesToChatStream
from keyproxy.translate.malformed import decode_request
from keyproxy.translate.stream import translated
from keyproxy.transport.base import UpstreamRequest

VERSION = "2023-06-01"
_PATHS: dict[str, str] = {"chat": "/messages", "messages": "/messages", "count_tokens": "/messages/count_tokens"}


class AnthropicAdapter:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def _headers(self, secret: str) -> dict[str, str]:
        return {"x-api-key": secret, "anthropic-version": VERSION, "content-type": "application/json"}

    def request(self, call: Call, secret: str) -> UpstreamRequest:
        path = _PATHS.get(call.endpoint)
        if path is None:
            raise InvalidRequest("Anthropic offers no embeddings endpoint")
        body = call.body
        if call.endpoint == "chat":
            with refusing_for(call):
                body = msgspec.json.encode(chat_to_messages(decode_request(body)))
        # The client's own anthropic-version and anthropic-beta go through: it knows what it asks for.
        headers = {**self._headers(secret), **call.headers}
        return UpstreamRequest("POST", self.base_url + path, headers, body)

    def read_body(self, call: Call, body: bytes) -> bytes:
        data = load_answer(body)
        if call.endpoint == "count_tokens":
            return body
        if not isinstance(data, dict) or data.get("type") != "message":
            raise InvalidUpstreamResponse("upstream answered 2xx without a message")
        if call.endpoint == "messages":
            return body
        answer = messages_response_to_chat(data, model=call.answer_model, created=int(time.time()))
        return msgspec.json.encode(answer)

    def read_stream(self, call: Call, chunks: AsyncIterator[bytes], report: UsageReport) -> AsyncIterator[bytes]:
        if call.endpoint == "messages":
            return chunks
        include_usage = asks_for_usage(call.body)
        stream = MessagesToChatStream(call.answer_model, int(time.time()), include_usage=include_usage, on_usage=report)
        return translated(chunks, stream)

    def models_request(self, secret: str) -> UpstreamRequest:
        headers = self._headers(secret)
        del headers["content-type"]
        return UpstreamRequest("GET", self.base_url + "/models?limit=1000", headers)

    def parse_models(self, body: bytes) -> list[str]:
        data = load_answer(body)
        entries = data.get("data") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise InvalidUpstreamResponse("model list has no data array")
        return [e["id"] for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str) and e["id"]]

    def classify(self, status: int, headers: Mapping[str, str], body: bytes, now: float) -> UpstreamStatusError:
        error = error_object(body)
        known = BY_NAME.get(str(error.get("type")))
        cls = known.error if known is not None else status_error_class(status)
        retry_after = parse_retry_after(headers, now)
        if retry_after is None and cls is UpstreamRateLimited:
            retry_after = reset_hint(headers, now)
        classified = cls(
            error_message(error, status), upstream_status=status, body=body, headers=headers,
            retry_after=retry_after,
        )  # fmt: skip
        if isinstance(classified, UpstreamForbidden) and error.get("type") == "permission_error":
            classified.permission = True
        if known is not None and classified.error_class is ErrorClass.CLIENT_ERROR:
            # The type is Anthropic's code for what went wrong; clients of other dialects see it as the code.
            classified.code = known.name
        return classified
