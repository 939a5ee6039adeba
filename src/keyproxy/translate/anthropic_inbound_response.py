"""A whole (unstreamed) OpenAI chat completion answered to a /v1/messages client as an Anthropic message."""

from __future__ import annotations

from typing import Any

import msgspec

from keyproxy.errors import InvalidUpstreamResponse
from keyproxy.translate.anthropic_mapping import messages_usage, stop_reason
from keyproxy.translate.malformed import malformed_answer


@malformed_answer("chat completion")
def chat_response_to_messages(resp: dict[str, Any], *, model: str) -> dict[str, Any]:
    """A chat.completion's first choice as an Anthropic message."""
    choices = resp.get("choices")
    if not choices:
        raise InvalidUpstreamResponse("the chat completion has no choices")
    choice = choices[0]
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if reasoning:
        # No signature exists to give; messages_to_chat drops thinking from the history anyway.
        content.append({"type": "thinking", "thinking": reasoning, "signature": ""})
    text = message.get("content") or message.get("refusal")
    if text:
        content.append({"type": "text", "text": text})
    calls = message.get("tool_calls") or []
    for call in calls:
        function = call.get("function") or {}
        tool_input = _tool_input(function.get("arguments"))
        name = function.get("name", "")
        content.append({"type": "tool_use", "id": call.get("id", ""), "name": name, "input": tool_input})
    return {
        "id": "msg_" + str(resp.get("id", "")),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason(choice.get("finish_reason"), tool_calls=bool(calls)),
        "stop_sequence": None,
        "usage": messages_usage(resp.get("usage") or {}),
    }


def _tool_input(arguments: Any) -> dict[str, Any]:
    """Arguments that are not a JSON object are kept under "_raw", for the client's tool to reject visibly."""
    if isinstance(arguments, dict):
        return arguments
    if not arguments:
        return {}
    try:
        value = msgspec.json.decode(arguments)
    except msgspec.DecodeError:
        value = None
    return value if isinstance(value, dict) else {"_raw": arguments}
