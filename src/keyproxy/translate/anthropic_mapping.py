"""Stop reasons, token counts and JSON, handled once for every translation between Anthropic and OpenAI chat."""

from __future__ import annotations

from typing import Any

import msgspec

from keyproxy.errors import InvalidUpstreamResponse

FINISH_REASON: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
"""Anthropic `stop_reason` -> OpenAI `finish_reason`; anything else reads as "stop"."""

MESSAGES_STOP_REASON: dict[str, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
"""OpenAI `finish_reason` -> Anthropic `stop_reason`; anything else reads as "end_turn"."""


def finish_reason(stop_reason: str | None) -> str:
    return FINISH_REASON.get(stop_reason or "", "stop")


def stop_reason(finish: str | None, *, tool_calls: bool) -> str:
    """`tool_calls` says whether the answer called tools: some OpenAI-compatible servers say "stop" even then."""
    reason = MESSAGES_STOP_REASON.get(finish or "", "end_turn")
    return "tool_use" if tool_calls and reason == "end_turn" else reason


def chat_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Anthropic usage -> OpenAI usage. Anthropic counts cached input apart; OpenAI counts it in the prompt."""
    cache_read = usage.get("cache_read_input_tokens") or 0
    prompt = (usage.get("input_tokens") or 0) + cache_read + (usage.get("cache_creation_input_tokens") or 0)
    completion = usage.get("output_tokens") or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cache_read},
    }


def messages_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """OpenAI usage -> Anthropic usage: cached tokens move out of the input count."""
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    return {
        "input_tokens": (usage.get("prompt_tokens") or 0) - cached,
        "output_tokens": usage.get("completion_tokens") or 0,
        "cache_read_input_tokens": cached,
    }


def dumps(value: Any) -> str:
    """Compact JSON text, as both protocols carry tool arguments."""
    return msgspec.json.encode(value).decode()


def loads_event(data: str) -> dict[str, Any]:
    """One streamed event's JSON object; anything else means the upstream sent garbage."""
    try:
        value = msgspec.json.decode(data)
    except msgspec.DecodeError:
        value = None
    if not isinstance(value, dict):
        raise InvalidUpstreamResponse(f"a stream event is not a JSON object: {data[:80]!r}")
    return value
