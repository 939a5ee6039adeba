from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import msgspec
import pytest

from keyproxy.errors import (
    InvalidRequest,
    UpstreamClientError,
    UpstreamForbidden,
    UpstreamKeyRejected,
    UpstreamModelRefused,
)
from keyproxy.providers import Call
from keyproxy.providers.gemini import GeminiAdapter

ADAPTER = GeminiAdapter("https://generativelanguage.test/v1beta")
USAGE = {"promptTokenCount": 4, "candidatesTokenCount": 2, "totalTokenCount": 6}
ANSWER = {
    "candidates": [{"content": {"parts": [{"text": "Hi"}], "role": "model"}, "finishReason": "STOP", "index": 0}],
    "usageMetadata": USAGE,
    "modelVersion": "gemini-2.5-flash-002",
}


def chat_call(stream: bool = False, **fields: Any) -> Call:
    body = msgspec.json.encode({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}], **fields})
    return Call("google", "gemini-2.5-flash", "chat", body, stream, client_model="google/gemini-2.5-flash")


async def relayed(call: Call, raw: bytes, report: Any) -> bytes:
    async def chunks() -> AsyncIterator[bytes]:
        yield raw

    return b"".join([chunk async for chunk in ADAPTER.read_stream(call, chunks(), report)])


def test_a_refused_field_names_the_provider() -> None:
    with pytest.raises(InvalidRequest, match=r"'logit_bias'.*Gemini.*provider 'google'"):
        ADAPTER.request(chat_call(logit_bias={"1": 1}), "AIza")


def test_token_ids_to_embed_are_refused_naming_the_fix() -> None:
    body = msgspec.json.encode({"model": "text-embedding-004", "input": [[1, 2, 3]]})
    with pytest.raises(InvalidRequest, match="check_embedding_ctx_length=False"):
        ADAPTER.request(Call("google", "text-embedding-004", "embeddings", body), "AIza")


def test_a_translated_answer_names_the_model_as_the_client_did() -> None:
    answer = msgspec.json.decode(ADAPTER.read_body(chat_call(), msgspec.json.encode(ANSWER)))
    assert answer["model"] == "google/gemini-2.5-flash"


def test_a_stream_without_include_usage_reports_its_usage_aside() -> None:
    reported: list[Mapping[str, Any]] = []
    raw = b"data: " + msgspec.json.encode(ANSWER) + b"\r\n\r\n"
    out = asyncio.run(relayed(chat_call(stream=True), raw, reported.append))
    assert b'"usage"' not in out and out.endswith(b"data: [DONE]\n\n")
    assert [usage["total_tokens"] for usage in reported] == [6]


def test_a_client_error_carries_googles_status_as_its_code() -> None:
    body = b'{"error": {"code": 400, "message": "The input token count exceeds ...", "status": "INVALID_ARGUMENT"}}'
    error = ADAPTER.classify(400, {}, body, 0.0)
    # Only the words say the prompt was too long; classification reads no message text.
    assert type(error) is UpstreamClientError
    assert error.code == "invalid_argument"


def test_a_rejected_key_keeps_its_own_code() -> None:
    body = (b'{"error": {"code": 400, "message": "API key not valid", "status": "INVALID_ARGUMENT", '
            b'"details": [{"reason": "API_KEY_INVALID"}]}}')  # fmt: skip
    error = ADAPTER.classify(400, {}, body, 0.0)
    assert isinstance(error, UpstreamKeyRejected) and error.code == "upstream_key_rejected"


def test_a_404_not_found_on_the_models_url_is_this_model_refused_for_this_key() -> None:
    body = b'{"error": {"code": 404, "message": "models/gemini-9 is not found", "status": "NOT_FOUND"}}'
    assert type(ADAPTER.classify(404, {}, body, 0.0)) is UpstreamModelRefused


def test_a_403_permission_denied_is_marked_as_a_permission_refusal() -> None:
    body = b'{"error": {"code": 403, "message": "no access to gemini-9", "status": "PERMISSION_DENIED"}}'
    error = ADAPTER.classify(403, {}, body, 0.0)
    assert isinstance(error, UpstreamForbidden) and error.permission
