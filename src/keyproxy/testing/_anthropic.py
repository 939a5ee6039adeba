"""Anthropic Messages as the fake answers them: an echo, a tool use, thinking, token counts, the model list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from keyproxy.testing._anthropic_errors import anthropic_error
from keyproxy.testing._anthropic_stream import message_stream
from keyproxy.testing._delivery import JsonReply, Reply
from keyproxy.testing._schema import instance, open_object
from keyproxy.testing._text import fake_arguments, images_note, named_tools, words

THOUGHT = "Thinking about it."
SIGNATURE = "sig_fake"


def messages_reply(body: dict[str, Any], *, serial: int) -> Reply:
    problem = _problem(body, need_max_tokens=True)
    if problem is not None:
        return JsonReply(400, anthropic_error(400, problem))
    content = _content(body, serial)
    message = {
        "id": f"msg_fake_{serial}",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": content,
        "stop_reason": "tool_use" if content[-1]["type"] == "tool_use" else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": _input_words(body), "output_tokens": sum(_output_words(b) for b in content)},
    }
    if body.get("stream") is True:
        return message_stream(message)
    return JsonReply(200, message)


def count_tokens_reply(body: dict[str, Any]) -> JsonReply:
    problem = _problem(body, need_max_tokens=False)
    if problem is not None:
        return JsonReply(400, anthropic_error(400, problem))
    return JsonReply(200, {"input_tokens": _input_words(body)})


def model_list_reply(models: Sequence[str], created: float) -> JsonReply:
    stamp = datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = [
        {"type": "model", "id": model, "display_name": model.replace("-", " ").title(), "created_at": stamp}
        for model in models
    ]
    first, last = (models[0], models[-1]) if models else (None, None)
    return JsonReply(200, {"data": data, "has_more": False, "first_id": first, "last_id": last})


def _problem(body: dict[str, Any], *, need_max_tokens: bool) -> str | None:
    """What Anthropic would say is wrong with the request, in its `field: reason` style."""
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    max_tokens = body.get("max_tokens")
    if need_max_tokens and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)):
        return "max_tokens: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        return "messages: Field required"
    if not messages:
        return "messages: at least one message is required"
    schema = _output_schema(body)
    where = open_object(schema) if schema is not None else None
    if where is not None:
        return (
            f"output_config.format.{where}: For 'object' type, 'additionalProperties' must be explicitly set to false"
        )
    return None


def _content(body: dict[str, Any], serial: int) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive"):
        blocks.append({"type": "thinking", "thinking": THOUGHT, "signature": SIGNATURE})
    user: dict[str, Any] = next((m for m in reversed(body["messages"]) if m.get("role") == "user"), {})
    content = user.get("content")
    results = [block for block in _blocks(content) if block.get("type") == "tool_result"]
    tools = [] if results else _chosen_tools(body.get("tools"), body.get("tool_choice"), _text(content))
    schema = _output_schema(body)
    if results:
        said = " ".join(_text(block.get("content")) for block in results)
        blocks.append({"type": "text", "text": "Tool said: " + said})
    elif tools:
        for n, tool in enumerate(tools):
            arguments = fake_arguments(tool.get("input_schema"))
            call_id = f"toolu_fake_{serial}_{n}" if n else f"toolu_fake_{serial}"
            blocks.append({"type": "tool_use", "id": call_id, "name": tool["name"], "input": arguments})
    elif schema is not None:
        blocks.append({"type": "text", "text": msgspec.json.encode(instance(schema)).decode()})
    else:
        images = sum(1 for block in _blocks(content) if block.get("type") == "image")
        blocks.append({"type": "text", "text": "Echo: " + _text(content) + images_note(images)})
    return blocks


def _output_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The schema of `output_config.format`, or of the older `output_format`, that the answer must follow."""
    config = body.get("output_config")
    found = config.get("format") if isinstance(config, dict) else None
    found = found or body.get("output_format")
    schema = found.get("schema") if isinstance(found, dict) and found.get("type") == "json_schema" else None
    return schema if isinstance(schema, dict) else None


def _chosen_tools(tools: object, choice: object, said: str) -> list[dict[str, Any]]:
    """The tool named by `tool_choice`, else those the prompt names (one if parallel use is disabled), else the
    first; none when tools are off or absent."""
    if not isinstance(tools, list) or (isinstance(choice, dict) and choice.get("type") == "none"):
        return []
    named = [tool for tool in tools if isinstance(tool, dict) and isinstance(tool.get("name"), str)]
    if isinstance(choice, dict) and choice.get("type") == "tool":
        return ([tool for tool in named if tool["name"] == choice.get("name")] or named)[:1]
    wanted = named_tools([tool["name"] for tool in named], said)
    if wanted and not (isinstance(choice, dict) and choice.get("disable_parallel_tool_use") is True):
        return [tool for tool in named if tool["name"] in wanted]
    return named[:1]


def _blocks(content: object) -> list[dict[str, Any]]:
    if not isinstance(content, list):
        return []
    return [block for block in content if isinstance(block, dict)]


def _text(content: object) -> str:
    """The text of a message or tool result: a string, or its text blocks joined by spaces."""
    if isinstance(content, str):
        return content
    texts = (block.get("text") for block in _blocks(content) if block.get("type") == "text")
    return " ".join(text for text in texts if isinstance(text, str))


def _input_words(body: dict[str, Any]) -> int:
    """Words of the system prompt and of every message, tool results included."""
    count = words(_text(body.get("system")))
    for message in body["messages"]:
        content = message.get("content")
        count += words(_text(content))
        count += sum(words(_text(b.get("content"))) for b in _blocks(content) if b.get("type") == "tool_result")
    return count


def _output_words(block: dict[str, Any]) -> int:
    if block["type"] == "thinking":
        return words(block["thinking"])
    if block["type"] == "tool_use":
        return words(block["name"]) + len(block["input"])
    return words(block["text"])
