"""Anthropic Messages requests from /v1/messages clients rewritten as OpenAI chat-completions requests."""

from __future__ import annotations

from typing import Any

from keyproxy.errors import InvalidRequest
from keyproxy.translate.anthropic_mapping import dumps
from keyproxy.translate.fields import refuse, refuse_unhandled
from keyproxy.translate.malformed import malformed_request
from keyproxy.translate.reasoning import details
from keyproxy.translate.structured import chat_response_format

_TOOL_CHOICE: dict[str, str] = {"auto": "auto", "any": "required", "none": "none"}
_PASSED = ("model", "max_tokens", "temperature", "top_p", "top_k")
_EFFORTS = frozenset({"low", "medium", "high", "xhigh", "max"})
_ADAPTIVE_EFFORT = "medium"
"""Adaptive thinking without an effort: OpenAI's own default effort, and a thinking budget on Gemini."""
_HANDLED = frozenset(
    {
        *_PASSED,
        "messages",
        "system",
        "stop_sequences",
        "metadata",
        "tools",
        "tool_choice",
        "thinking",
        "output_config",
        "output_format",
        "stream",
        "service_tier",
        "speed",
        # Automatic prompt caching: chat-completions upstreams cache repeated prefixes on their own.
        "cache_control",
        # Anthropic's server-side clearing of old tool results: the upstream gets the whole conversation.
        "context_management",
    }
)
_TARGET = "a chat-completions upstream"


def messages_to_chat(msg: dict[str, Any]) -> dict[str, Any]:
    """The chat request for `msg`; InvalidRequest names what chat completions cannot express."""
    with malformed_request("messages request"):
        return _request(msg)


def _request(msg: dict[str, Any]) -> dict[str, Any]:
    refuse_unhandled(msg, _HANDLED, _TARGET)
    out: dict[str, Any] = {key: msg[key] for key in _PASSED if msg.get(key) is not None}
    messages: list[dict[str, Any]] = []
    if msg.get("system"):
        messages.append({"role": "system", "content": _text(msg["system"])})
    for message in msg["messages"]:
        if message["role"] == "user":
            messages.extend(_user(message["content"]))
        elif message["role"] == "assistant":
            messages.append(_assistant(message["content"]))
        else:
            raise InvalidRequest(f"message role {message['role']!r} is neither user nor assistant")
    out["messages"] = messages
    if msg.get("stop_sequences"):
        out["stop"] = list(msg["stop_sequences"])
    user_id = (msg.get("metadata") or {}).get("user_id")
    if user_id:
        out["user"] = user_id
    if msg.get("tools"):
        # OpenAI rejects tool_choice and parallel_tool_calls sent without tools.
        out["tools"] = [_tool(tool) for tool in msg["tools"]]
        choice = msg.get("tool_choice")
        if choice:
            out["tool_choice"] = _tool_choice(choice)
            if choice.get("disable_parallel_tool_use"):
                out["parallel_tool_calls"] = False
    output_config = msg.get("output_config") or {}
    refuse_unhandled(output_config, ("effort", "format"), _TARGET)
    effort = _reasoning_effort(msg.get("thinking") or {}, output_config.get("effort"))
    if effort is not None:
        out["reasoning_effort"] = effort
    output_format = output_config.get("format") or msg.get("output_format")
    if output_format:
        out["response_format"] = chat_response_format(output_format)
    if msg.get("service_tier") == "standard_only":
        out["service_tier"] = "default"
    if msg.get("speed") not in (None, "standard"):
        raise refuse("speed", _TARGET)
    if msg.get("stream") is not None:
        out["stream"] = msg["stream"]
        if msg["stream"]:
            out["stream_options"] = {"include_usage": True}
    return out


def _reasoning_effort(thinking: dict[str, Any], effort: Any) -> str | None:
    """An explicit `output_config.effort` wins; else an enabled budget maps to its effort, adaptive to the
    default one; disabled (or no thinking) asks for none, which is every target's default."""
    if effort is not None and effort not in _EFFORTS:
        raise InvalidRequest(f"output_config.effort {effort!r} is not one of {', '.join(sorted(_EFFORTS))}")
    kind = thinking.get("type")
    if kind not in (None, "enabled", "adaptive", "disabled"):
        raise InvalidRequest(f"thinking type {kind!r} cannot be sent to {_TARGET}: it has no equivalent")
    if effort is not None:
        return str(effort)
    if kind == "enabled":
        return _effort(thinking["budget_tokens"])
    return _ADAPTIVE_EFFORT if kind == "adaptive" else None


def _effort(budget_tokens: int) -> str:
    """`thinking.budget_tokens` -> `reasoning_effort`, the inverse of THINKING_BUDGET in anthropic_request."""
    if budget_tokens < 2048:
        return "low"
    return "medium" if budget_tokens < 8192 else "high"


def _text(content: str | list[dict[str, Any]]) -> str:
    """The text of a string or of blocks: what system prompts, tool results and documents reduce to."""
    if isinstance(content, str):
        return content
    return "\n".join(block["text"] for block in content if block["type"] == "text")


def _user(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tool results become `tool` messages, placed first: they answer the assistant turn just before."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    messages: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in content:
        if block["type"] == "tool_result":
            result = _text(block.get("content", ""))
            messages.append({"role": "tool", "tool_call_id": block["tool_use_id"], "content": result})
        else:
            parts.append(_part(block))
    if len(parts) == 1 and parts[0]["type"] == "text":
        messages.append({"role": "user", "content": parts[0]["text"]})
    elif parts:
        messages.append({"role": "user", "content": parts})
    return messages


def _part(block: dict[str, Any]) -> dict[str, Any]:
    kind = block["type"]
    if kind == "text":
        return {"type": "text", "text": block["text"]}
    if kind == "image":
        return {"type": "image_url", "image_url": {"url": _image_url(block["source"])}}
    if kind == "document":
        return _document(block["source"])
    raise InvalidRequest(f"content block type {kind!r} has no chat-completions equivalent")


def _image_url(source: dict[str, Any]) -> str:
    if source["type"] == "base64":
        return f"data:{source['media_type']};base64,{source['data']}"
    if source["type"] == "url":
        return str(source["url"])
    raise InvalidRequest(f"an image with a {source['type']!r} source has no chat-completions equivalent")


def _document(source: dict[str, Any]) -> dict[str, Any]:
    kind = source["type"]
    if kind == "text":
        return {"type": "text", "text": source["data"]}
    if kind == "content":
        return {"type": "text", "text": _text(source["content"])}
    if kind == "base64" and source.get("media_type") == "application/pdf":
        data_url = f"data:application/pdf;base64,{source['data']}"
        return {"type": "file", "file": {"filename": "document.pdf", "file_data": data_url}}
    # Chat completions takes files only as inline PDF data or uploaded file ids, never by URL.
    raise InvalidRequest(f"a document with a {kind!r} source has no chat-completions equivalent")


def _assistant(content: str | list[dict[str, Any]]) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    thoughts: list[dict[str, Any]] = []
    for block in content:
        kind = block["type"]
        if kind == "text":
            texts.append(block["text"])
        elif kind == "tool_use":
            function = {"name": block["name"], "arguments": dumps(block.get("input") or {})}
            calls.append({"id": block["id"], "type": "function", "function": function})
        elif kind in ("thinking", "redacted_thinking"):
            thoughts.append(block)
        else:
            raise InvalidRequest(f"assistant content block type {kind!r} has no chat-completions equivalent")
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if calls:
        message["tool_calls"] = calls
    # Thinking models behind chat (DeepSeek, Kimi) want a tool turn's reasoning back; for_target decides
    # per provider whether it is sent.
    reasoning = "".join(block.get("thinking", "") for block in thoughts if block["type"] == "thinking")
    if reasoning:
        message["reasoning_content"] = reasoning
    signed = details(thoughts)
    if signed:
        message["reasoning_details"] = signed
    return message


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    if tool.get("type", "custom") != "custom":
        raise InvalidRequest(f"Anthropic server tool {tool['type']!r} cannot run on a chat-completions upstream")
    function: dict[str, Any] = {"name": tool["name"]}
    if tool.get("description"):
        function["description"] = tool["description"]
    function["parameters"] = tool["input_schema"]
    if tool.get("strict") is True:
        function["strict"] = True
    return {"type": "function", "function": function}


def _tool_choice(choice: dict[str, Any]) -> str | dict[str, Any]:
    kind = choice["type"]
    if kind == "tool":
        return {"type": "function", "function": {"name": choice["name"]}}
    if kind in _TOOL_CHOICE:
        return _TOOL_CHOICE[kind]
    raise InvalidRequest(f"tool_choice type {kind!r} is not auto, any, tool or none")
