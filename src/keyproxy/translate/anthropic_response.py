"""A whole (unstreamed) Anthropic message answered to an OpenAI client as a chat completion."""

from __future__ import annotations

from typing import Any

from keyproxy.errors import InvalidUpstreamResponse
from keyproxy.translate.anthropic_mapping import chat_usage, dumps, finish_reason
from keyproxy.translate.malformed import malformed_answer
from keyproxy.translate.reasoning import details


@malformed_answer("Anthropic message")
def messages_response_to_chat(resp: dict[str, Any], *, model: str, created: int = 0) -> dict[str, Any]:
    """An Anthropic message as a chat.completion; thinking becomes the non-standard `reasoning_content`, and
    with its signature `reasoning_details` (OpenRouter's field), which a client sends back for the next turn."""
    content = resp.get("content")
    if not isinstance(content, list):
        raise InvalidUpstreamResponse("the Anthropic response has no content list")
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in content:
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind == "thinking":
            thoughts.append(block.get("thinking", ""))
        elif kind == "tool_use":
            function = {"name": block.get("name", ""), "arguments": dumps(block.get("input") or {})}
            calls.append({"id": block.get("id", ""), "type": "function", "function": function})
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if calls:
        message["tool_calls"] = calls
    if thoughts:
        message["reasoning_content"] = "".join(thoughts)
    signed = details(content)
    if signed:
        message["reasoning_details"] = signed
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason(resp.get("stop_reason"))}
    return {
        # The Anthropic id, unchanged, so a client's id can be found in the upstream's logs.
        "id": resp.get("id", ""),
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [choice],
        "usage": chat_usage(resp.get("usage") or {}),
    }
