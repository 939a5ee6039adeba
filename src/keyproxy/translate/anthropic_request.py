"""OpenAI chat-completions requests rewritten as Anthropic Messages requests, for Anthropic upstreams."""

from __future__ import annotations

from typing import Any

import msgspec

from keyproxy.errors import InvalidRequest
from keyproxy.translate.fields import refuse, refuse_unhandled, stop_sequences
from keyproxy.translate.malformed import malformed_request
from keyproxy.translate.reasoning import thinking_blocks
from keyproxy.translate.structured import anthropic_format

THINKING_BUDGET: dict[str, int] = {"minimal": 1024, "low": 1024, "medium": 4096, "high": 16384}
"""`reasoning_effort` -> `thinking.budget_tokens`; 1024 is the smallest budget Anthropic accepts."""

_TOOL_CHOICE: dict[str, str] = {"auto": "auto", "required": "any", "none": "none"}
_PASSED = ("model", "temperature", "top_p", "top_k", "stream")
_SERVICE_TIER: dict[str, str] = {"auto": "auto", "default": "standard_only"}
_HANDLED = frozenset(
    {
        *_PASSED,
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "user",
        "safety_identifier",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "reasoning_effort",
        "n",
        "response_format",
        "service_tier",
        "modalities",
        # Asked of the answer, not of Anthropic: the usage chunk is the stream translator's to send.
        "stream_options",
        # Change nothing in the answer: OpenAI's cache routing and stored-completion tags, predicted output.
        "metadata",
        "prompt_cache_key",
        "prompt_cache_retention",
        "prompt_cache_options",
        "prediction",
    }
)
_TARGET = "Anthropic"


def chat_to_messages(chat: dict[str, Any], *, default_max_tokens: int = 4096) -> dict[str, Any]:
    """The Anthropic request for `chat`; InvalidRequest names what Anthropic cannot express."""
    with malformed_request("chat request"):
        return _request(chat, default_max_tokens)


def _request(chat: dict[str, Any], default_max_tokens: int) -> dict[str, Any]:
    refuse_unhandled(chat, _HANDLED, _TARGET)
    if (chat.get("n") or 1) > 1:
        raise InvalidRequest("n > 1 cannot be sent to Anthropic, which returns one choice per request")
    if chat.get("modalities") not in (None, ["text"]):
        raise refuse("modalities", _TARGET)
    system, messages = _conversation(chat["messages"])
    out: dict[str, Any] = {key: chat[key] for key in _PASSED if chat.get(key) is not None}
    out["messages"] = messages
    if system:
        out["system"] = system
    out["max_tokens"] = chat.get("max_completion_tokens") or chat.get("max_tokens") or default_max_tokens
    stop = chat.get("stop")
    if stop:
        out["stop_sequences"] = stop_sequences(stop)
    # Both name the end user to the provider's abuse detection, which is what metadata.user_id is for.
    user = chat.get("user") or chat.get("safety_identifier")
    if user:
        out["metadata"] = {"user_id": user}
    tier = chat.get("service_tier")
    if tier is not None:
        if tier not in _SERVICE_TIER:
            raise refuse("service_tier", _TARGET)
        out["service_tier"] = _SERVICE_TIER[tier]
    output_format = anthropic_format(chat.get("response_format"))
    if output_format is not None:
        out["output_config"] = {"format": output_format}
    if chat.get("tools"):
        # Without tools a tool_choice means nothing, and Anthropic rejects one sent alone.
        out["tools"] = [_tool(tool) for tool in chat["tools"]]
        choice = _tool_choice(chat.get("tool_choice"), chat.get("parallel_tool_calls"))
        if choice is not None:
            out["tool_choice"] = choice
    effort = chat.get("reasoning_effort")
    if effort is not None and effort != "none":
        if effort not in THINKING_BUDGET:
            raise InvalidRequest(f"reasoning_effort {effort!r} is not one of {', '.join(THINKING_BUDGET)} or none")
        budget = THINKING_BUDGET[effort]
        if not _unsigned_tool_turn(messages):
            out["thinking"] = {"type": "enabled", "budget_tokens": budget}
            # Anthropic counts thinking inside max_tokens and requires room for an answer after it.
            if out["max_tokens"] <= budget:
                out["max_tokens"] = budget + default_max_tokens
    return out


def _unsigned_tool_turn(messages: list[dict[str, Any]]) -> bool:
    """Whether the last assistant turn called tools without its signed thinking. With thinking on, Anthropic
    refuses such a turn (a client that dropped reasoning_details sends it), so that request goes without."""
    last = next((message for message in reversed(messages) if message["role"] == "assistant"), None)
    if last is None:
        return False
    kinds = [block.get("type") for block in last["content"]]
    return "tool_use" in kinds and kinds[0] not in ("thinking", "redacted_thinking")


def _conversation(raw: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """System text blocks, and turns that alternate: Anthropic rejects two turns of one role in a row."""
    if not isinstance(raw, list):
        raise InvalidRequest("messages must be a list")
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for message in raw:
        role = message["role"]
        if role in ("system", "developer"):
            system.extend(_system_blocks(message["content"]))
            continue
        if role == "user":
            blocks = _blocks(message.get("content"))
        elif role == "assistant":
            blocks = _assistant_blocks(message)
        elif role == "tool":
            role, blocks = "user", [_tool_result(message)]
        else:
            raise InvalidRequest(f"message role {role!r} has no Anthropic equivalent")
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return system, turns


def _system_blocks(content: Any) -> list[dict[str, Any]]:
    blocks = _blocks(content)
    if any(block["type"] != "text" for block in blocks):
        raise InvalidRequest("system messages can hold only text for Anthropic")
    return blocks


def _blocks(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        # Anthropic rejects empty text blocks; clients often send "" beside tool calls.
        return [{"type": "text", "text": content}] if content else []
    return [block for part in content if (block := _block(part)) is not None]


def _block(part: dict[str, Any]) -> dict[str, Any] | None:
    kind = part["type"]
    block: dict[str, Any]
    if kind in ("text", "refusal"):
        if not part[kind]:
            return None
        block = {"type": "text", "text": part[kind]}
    elif kind == "image_url":
        spec = part["image_url"]
        block = {"type": "image", "source": _image_source(spec if isinstance(spec, str) else spec["url"])}
    elif kind == "file":
        block = {"type": "document", "source": _document_source(part["file"])}
    else:
        raise InvalidRequest(f"content part type {kind!r} has no Anthropic equivalent")
    if "cache_control" in part:
        block["cache_control"] = part["cache_control"]
    return block


def _image_source(url: str) -> dict[str, Any]:
    if url.startswith("data:"):
        media_type, data = _data_url(url)
        return {"type": "base64", "media_type": media_type, "data": data}
    if url.startswith(("https://", "http://")):
        return {"type": "url", "url": url}
    raise InvalidRequest("an image_url must be an http(s) URL or a base64 data: URL")


def _document_source(file: dict[str, Any]) -> dict[str, Any]:
    data_url = file.get("file_data")
    if not isinstance(data_url, str) or not data_url.startswith("data:"):
        raise InvalidRequest("a file part needs file_data as a base64 data: URL; file ids mean nothing to Anthropic")
    media_type, data = _data_url(data_url)
    return {"type": "base64", "media_type": media_type, "data": data}


def _data_url(url: str) -> tuple[str, str]:
    """`data:<media type>[;params];base64,<data>` -> (media type, data)."""
    header, _, data = url.removeprefix("data:").partition(",")
    params = header.split(";")
    if params[-1] != "base64" or not params[0]:
        raise InvalidRequest("a data: URL must name its media type and be base64-encoded")
    return params[0], data


def _assistant_blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    # Only signed reasoning goes back (reasoning_details, as keyproxy answers it): Anthropic refuses
    # thinking blocks without its own signature.
    blocks = [*thinking_blocks(message), *_blocks(message.get("content"))]
    for call in message.get("tool_calls") or []:
        function = call["function"]
        arguments = _arguments(call["id"], function.get("arguments"))
        blocks.append({"type": "tool_use", "id": call["id"], "name": function["name"], "input": arguments})
    return blocks


def _arguments(call_id: str, arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    if not arguments or not arguments.strip():
        return {}
    try:
        value = msgspec.json.decode(arguments)
    except msgspec.DecodeError:
        value = None
    if not isinstance(value, dict):
        raise InvalidRequest(f"tool call {call_id}: arguments are not a JSON object")
    return value


def _tool_result(message: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"type": "tool_result", "tool_use_id": message["tool_call_id"]}
    content = message.get("content")
    if content:
        result["content"] = content if isinstance(content, str) else _blocks(content)
    return result


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    if tool.get("type", "function") != "function":
        raise InvalidRequest(f"tool type {tool['type']!r} has no Anthropic equivalent")
    function = tool["function"]
    out: dict[str, Any] = {"name": function["name"]}
    if function.get("description"):
        out["description"] = function["description"]
    out["input_schema"] = function.get("parameters") or {"type": "object", "properties": {}}
    if function.get("strict") is True:
        # Anthropic's strict tool use guarantees the same as OpenAI's: arguments that match the schema.
        out["strict"] = True
    return out


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    if choice is None and parallel is not False:
        return None
    if isinstance(choice, dict):
        result: dict[str, Any] = {"type": "tool", "name": choice["function"]["name"]}
    elif choice is None or choice in _TOOL_CHOICE:
        result = {"type": _TOOL_CHOICE[choice or "auto"]}
    else:
        raise InvalidRequest(f"tool_choice {choice!r} is not auto, required, none or a named function")
    if parallel is False and result["type"] != "none":
        result["disable_parallel_tool_use"] = True
    return result
