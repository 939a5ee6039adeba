"""Google's Gemini (generativelanguage v1beta): generateContent, streamGenerateContent, batchEmbedContents."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import msgspec

from keyproxy.errors import (
    ErrorClass,
    InvalidRequest,
    InvalidUpstreamResponse,
    UpstreamForbidden,
    UpstreamKeyRejected,
    UpstreamModelRefused,
    UpstreamQuotaExhausted,
    UpstreamStatusError,
    status_error_class,
)
from keyproxy.providers.base import Call, UsageReport, refusing_for
from keyproxy.providers.hints.google_errors import parse_google_error
from keyproxy.providers.hints.retry_after import parse_retry_after
from keyproxy.providers.wire import asks_for_usage, error_message, error_object, load_answer, path_segment
from keyproxy.translate.gemini_request import chat_to_gemini, embeddings_to_gemini
from keyproxy.translate.gemini_response import gemini_embeddings_to_openai, gemini_models, gemini_to_chat
from keyproxy.translate.gemini_stream import GeminiToChatStream
from keyproxy.translate.malformed import decode_request
from keyproxy.translate.stream import translated
from keyproxy.transport.base import UpstreamRequest

# Gemini answers a bad key with 400 INVALID_ARGUMENT; only this ErrorInfo reason tells it from a bad request.
_KEY_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_SERVICE_BLOCKED", "API_KEY_HTTP_REFERRER_BLOCKED"})


class GeminiAdapter:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def request(self, call: Call, secret: str) -> UpstreamRequest:
        model = path_segment(call.model.removeprefix("models/"), "Gemini model name")
        data = decode_request(call.body)
        with refusing_for(call):
            if call.endpoint == "chat":
                action = "streamGenerateContent?alt=sse" if call.stream else "generateContent"
                payload = chat_to_gemini(data)
            elif call.endpoint == "embeddings":
                action = "batchEmbedContents"
                payload = embeddings_to_gemini(data, model=call.model)
            else:
                raise InvalidRequest(f"Gemini has no {call.endpoint} endpoint")
        headers = {"x-goog-api-key": secret, "content-type": "application/json"}
        url = f"{self.base_url}/models/{model}:{action}"
        return UpstreamRequest("POST", url, headers, msgspec.json.encode(payload))

    def read_body(self, call: Call, body: bytes) -> bytes:
        data = load_answer(body)
        if not isinstance(data, dict):
            raise InvalidUpstreamResponse("upstream answered 2xx without an object")
        if call.endpoint == "embeddings":
            # The encoding the client asked for decides the answer's shape; Gemini always sends floats.
            encoding = decode_request(call.body).get("encoding_format")
            embeddings = gemini_embeddings_to_openai(data, model=call.answer_model, encoding_format=encoding)
            return msgspec.json.encode(embeddings)
        return msgspec.json.encode(gemini_to_chat(data, model=call.answer_model, created=int(time.time())))

    def read_stream(self, call: Call, chunks: AsyncIterator[bytes], report: UsageReport) -> AsyncIterator[bytes]:
        include_usage = asks_for_usage(call.body)
        stream = GeminiToChatStream(call.answer_model, int(time.time()), include_usage=include_usage, on_usage=report)
        return translated(chunks, stream)

    def models_request(self, secret: str) -> UpstreamRequest:
        return UpstreamRequest("GET", self.base_url + "/models?pageSize=1000", {"x-goog-api-key": secret})

    def parse_models(self, body: bytes) -> list[str]:
        data = load_answer(body)
        if not isinstance(data, dict) or not isinstance(data.get("models"), list):
            raise InvalidUpstreamResponse("model list has no models array")
        return gemini_models(data)

    def classify(self, status: int, headers: Mapping[str, str], body: bytes, now: float) -> UpstreamStatusError:
        error = error_object(body)
        cls = status_error_class(status)
        retry_after = parse_retry_after(headers, now)
        if status == 400 and _reasons(error) & _KEY_REASONS:
            cls = UpstreamKeyRejected
        elif status == 404 and error.get("status") == "NOT_FOUND":
            # On a model's own URL, Google's NOT_FOUND is about the model.
            cls = UpstreamModelRefused
        quota = parse_google_error(error) if status == 429 else None
        if quota is not None:
            retry_after = retry_after if retry_after is not None else quota.retry_after
            if quota.daily:
                cls = UpstreamQuotaExhausted
        classified = cls(
            error_message(error, status), upstream_status=status, body=body, headers=headers,
            retry_after=retry_after,
        )  # fmt: skip
        if isinstance(classified, UpstreamForbidden) and error.get("status") == "PERMISSION_DENIED":
            classified.permission = True
        if classified.error_class is ErrorClass.CLIENT_ERROR and isinstance(error.get("status"), str):
            # Google's canonical code (INVALID_ARGUMENT, NOT_FOUND...): what clients of other dialects see as code.
            classified.code = error["status"].lower()
        return classified


def _reasons(error: Mapping[str, Any]) -> set[str]:
    details = error.get("details")
    if not isinstance(details, list):
        return set()
    return {d["reason"] for d in details if isinstance(d, dict) and isinstance(d.get("reason"), str)}
