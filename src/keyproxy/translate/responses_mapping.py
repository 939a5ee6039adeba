"""What the Responses API's whole answers and streams share: the response object, output items, usage,
status, and the error event."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

ItemStatus = str

_INCOMPLETE: dict[str, str] = {"length": "max_output_tokens", "content_filter": "content_filter"}


def response_object(request: Mapping[str, Any], *, response_id: str, model: str, created_at: int) -> dict[str, Any]:
    """The response as it stands before any output: what the request asked for, echoed as OpenAI echoes it.
    The answer's status, output and usage replace the empty ones when they are known."""
    text = request.get("text")
    reasoning = request.get("reasoning")
    reasoning = reasoning if isinstance(reasoning, Mapping) else {}
    user = request.get("user")
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": "in_progress",
        "error": None,
        "incomplete_details": None,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "model": model,
        "output": [],
        "parallel_tool_calls": request.get("parallel_tool_calls", True) is not False,
        "previous_response_id": request.get("previous_response_id"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "store": request.get("store", True) is not False,
        "temperature": request.get("temperature"),
        "text": dict(text) if isinstance(text, Mapping) else {"format": {"type": "text"}},
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": list(request.get("tools") or []),
        "top_p": request.get("top_p"),
        "truncation": request.get("truncation") or "disabled",
        "usage": None,
        "user": user if isinstance(user, str) else None,
        "metadata": dict(request.get("metadata") or {}),
    }


def finished(response: Mapping[str, Any], finish_reason: object, output: list[dict[str, Any]],
             usage: dict[str, Any] | None) -> dict[str, Any]:  # fmt: skip
    """The response once the answer is whole: `length` and `content_filter` make it incomplete, as OpenAI
    reports a response cut by max_output_tokens or a filter."""
    reason = _INCOMPLETE.get(finish_reason) if isinstance(finish_reason, str) else None
    return {
        **response,
        "status": "incomplete" if reason else "completed",
        "incomplete_details": {"reason": reason} if reason else None,
        "output": output,
        "usage": usage,
    }


def item_status(finish_reason: object) -> ItemStatus:
    return "incomplete" if isinstance(finish_reason, str) and finish_reason in _INCOMPLETE else "completed"


def item_id(response_id: str, kind: str, number: int) -> str:
    """`msg_…`, `fc_…`, `rs_…`: stable for one response, different between responses."""
    return f"{kind}_{response_id.removeprefix('resp_')}_{number}"


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def refusal_part(refusal: str) -> dict[str, Any]:
    return {"type": "refusal", "refusal": refusal}


def message_item(item: str, parts: list[dict[str, Any]], status: ItemStatus) -> dict[str, Any]:
    return {"id": item, "type": "message", "status": status, "role": "assistant", "content": parts}


def function_call_item(item: str, call_id: str, name: str, arguments: str, status: ItemStatus) -> dict[str, Any]:
    return {"id": item, "type": "function_call", "status": status, "arguments": arguments, "call_id": call_id,
            "name": name}  # fmt: skip


def reasoning_item(item: str, text: str) -> dict[str, Any]:
    """Other providers' reasoning is a readable summary of their thinking, not OpenAI's encrypted state."""
    summary = [{"type": "summary_text", "text": text}] if text else []
    return {"id": item, "type": "reasoning", "summary": summary}


def responses_usage(usage: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Chat usage in the Responses API's names; None when the answer reported none."""
    if not isinstance(usage, Mapping):
        return None
    prompt = _count(usage.get("prompt_tokens"))
    completion = _count(usage.get("completion_tokens"))
    prompt_details = usage.get("prompt_tokens_details")
    completion_details = usage.get("completion_tokens_details")
    cached = _count(prompt_details.get("cached_tokens")) if isinstance(prompt_details, Mapping) else 0
    reasoning = _count(completion_details.get("reasoning_tokens")) if isinstance(completion_details, Mapping) else 0
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": _count(usage.get("total_tokens")) or prompt + completion,
    }


def event(kind: str, sequence_number: int, fields: Mapping[str, Any]) -> bytes:
    """One named SSE event; `type` and `sequence_number` first, as OpenAI writes them."""
    data = msgspec.json.encode({"type": kind, "sequence_number": sequence_number, **fields})
    return b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"


def error_event(code: str | None, message: str, sequence_number: int) -> bytes:
    """The stream's `error` event: how a Responses stream that broke off ends."""
    return event("error", sequence_number, {"code": code, "message": message, "param": None})


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
