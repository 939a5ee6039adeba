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
    UpstreamModelRefused,
    UpstreamRateLimited,
)
from keyproxy.providers import Call
from keyproxy.providers.anthropic import AnthropicAdapter

ADAPTER = AnthropicAdapter("https://api.anthropic.test/v1")
MESSAGE = {
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
    "content": [{"type": "text", "text": "Hi"}], "stop_reason": "end_turn", "stop_sequence": None,
    "usage": {"input_tokens": 3, "output_tokens": 1},
}  # fmt: skip


def chat_call(stream: bool = False, **fields: Any) -> Call:
    body = msgspec.json.encode(
        {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}], **fields}
    )
    return Call("claude", "claude-sonnet-4-5", "chat", body, stream, client_model="smart")


def stream_events(*events: dict[str, Any]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {msgspec.json.encode(e).decode()}\n\n".encode() for e in events)


async def relayed(call: Call, raw: bytes, report: Any) -> bytes:
    async def chunks() -> AsyncIterator[bytes]:
        yield raw

    return b"".join([chunk async for chunk in ADAPTER.read_stream(call, chunks(), report)])


RAW_STREAM = stream_events(
    {"type": "message_start", "message": {**MESSAGE, "content": [], "usage": {"input_tokens": 3, "output_tokens": 1}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1}},
    {"type": "message_stop"},
)


def test_a_refused_field_names_the_provider_and_model() -> None:
    with pytest.raises(InvalidRequest, match=r"'logprobs'.*provider 'claude', model 'claude-sonnet-4-5'"):
        ADAPTER.request(chat_call(logprobs=True), "sk-ant")


def test_a_translated_answer_names_the_model_as_the_client_did() -> None:
    answer = msgspec.json.decode(ADAPTER.read_body(chat_call(), msgspec.json.encode(MESSAGE)))
    assert answer["model"] == "smart"


def test_a_stream_without_include_usage_reports_its_usage_aside() -> None:
    reported: list[Mapping[str, Any]] = []
    out = asyncio.run(relayed(chat_call(stream=True), RAW_STREAM, reported.append))
    assert b'"usage"' not in out
    assert [usage["prompt_tokens"] for usage in reported] == [3]


def test_a_stream_with_include_usage_sends_the_usage_chunk_too() -> None:
    reported: list[Mapping[str, Any]] = []
    call = chat_call(stream=True, stream_options={"include_usage": True})
    out = asyncio.run(relayed(call, RAW_STREAM, reported.append))
    assert b'"choices":[],"usage":{"prompt_tokens":3' in out


def test_a_client_error_carries_anthropics_type_as_its_code() -> None:
    body = b'{"type": "error", "error": {"type": "invalid_request_error", "message": "prompt is too long: 9 > 8"}}'
    error = ADAPTER.classify(400, {}, body, 0.0)
    # Only the words say the prompt was too long; classification reads no message text.
    assert type(error) is UpstreamClientError
    assert error.code == "invalid_request_error"


def test_a_rate_limit_keeps_its_own_code() -> None:
    body = b'{"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}}'
    error = ADAPTER.classify(429, {}, body, 0.0)
    assert isinstance(error, UpstreamRateLimited) and error.code == "rate_limited"


def test_a_not_found_error_is_this_model_refused_for_this_key() -> None:
    body = b'{"type": "error", "error": {"type": "not_found_error", "message": "model: claude-9"}}'
    assert type(ADAPTER.classify(404, {}, body, 0.0)) is UpstreamModelRefused


def test_a_permission_error_is_a_403_marked_as_a_permission_refusal() -> None:
    body = b'{"type": "error", "error": {"type": "permission_error", "message": "no access to claude-9"}}'
    error = ADAPTER.classify(403, {}, body, 0.0)
    assert isinstance(error, UpstreamForbidden) and error.permission
