"""Chat completions as the fake answers them: an echo of the last user message, or a call of a tool."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from keyproxy.testing._delivery import DONE, JsonReply, Reply, StreamReply, data_frames
from keyproxy.testing._text import fake_arguments, fake_json, images_note, json_pieces, word_pieces, words
from keyproxy.testing.responses import invalid_request


@dataclass(frozen=True, slots=True)
class _ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class _Completion:
    id: str
    created: int
    model: str
    content: str | None
    tool_call: _ToolCall | None
    usage: dict[str, int]

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return self.envelope("chat.completion.chunk", [choice])

    def envelope(self, kind: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }


def chat_reply(body: dict[str, Any], *, serial: int, created: int) -> Reply:
    messages = body.get("messages")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return JsonReply(400, invalid_request("you must provide a model parameter", "model"))
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        return JsonReply(400, invalid_request("messages must be a non-empty array of objects", "messages"))

    content, tool_call = _answer(messages, body, serial)
    completion_words = words(content) if tool_call is None else words(f"{tool_call.name} {tool_call.arguments}")
    prompt_words = sum(words(_text(message.get("content"))) for message in messages)
    usage = {
        "prompt_tokens": prompt_words,
        "completion_tokens": completion_words,
        "total_tokens": prompt_words + completion_words,
    }
    completion = _Completion(f"chatcmpl-fake-{serial}", created, model, content, tool_call, usage)
    if body.get("stream") is True:
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        return StreamReply((*data_frames(_chunks(completion, include_usage=include_usage)), DONE))
    return JsonReply(200, _whole(completion))


def _answer(messages: list[dict[str, Any]], body: dict[str, Any], serial: int) -> tuple[str | None, _ToolCall | None]:
    last = messages[-1]
    if last.get("role") == "tool":
        return "Tool said: " + _text(last.get("content")), None
    tool = _chosen_tool(body.get("tools"), body.get("tool_choice"))
    if tool is not None:
        return None, _ToolCall(f"call_fake_{serial}", tool["name"], _arguments(tool.get("parameters")))
    form = body.get("response_format")
    if isinstance(form, dict) and form.get("type") == "json_schema" and isinstance(form.get("json_schema"), dict):
        return fake_json(form["json_schema"].get("schema")), None
    user: dict[str, Any] = next((m for m in reversed(messages) if m.get("role") == "user"), {})
    return "Echo: " + _text(user.get("content")) + _images(user.get("content")), None


def _chosen_tool(tools: object, choice: object) -> dict[str, Any] | None:
    """The function named by `tool_choice`, else the first one; None when tools are off or absent."""
    if choice == "none" or not isinstance(tools, list):
        return None
    functions = [
        tool["function"]
        for tool in tools
        if isinstance(tool, dict)
        and isinstance(tool.get("function"), dict)
        and isinstance(tool["function"].get("name"), str)
    ]
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        named = [f for f in functions if f["name"] == choice["function"].get("name")]
        functions = named or functions
    return functions[0] if functions else None


def _arguments(schema: object) -> str:
    return msgspec.json.encode(fake_arguments(schema)).decode()


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return " ".join(
        part["text"]
        for part in content
        if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
    )


def _images(content: object) -> str:
    if not isinstance(content, list):
        return ""
    return images_note(sum(1 for part in content if isinstance(part, dict) and part.get("type") == "image_url"))


def _whole(completion: _Completion) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": completion.content, "refusal": None}
    finish_reason = "stop"
    if completion.tool_call is not None:
        call = completion.tool_call
        function = {"name": call.name, "arguments": call.arguments}
        message["tool_calls"] = [{"id": call.id, "type": "function", "function": function}]
        finish_reason = "tool_calls"
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
    return completion.envelope("chat.completion", [choice]) | {"usage": completion.usage}


def _chunks(completion: _Completion, *, include_usage: bool) -> tuple[dict[str, Any], ...]:
    call = completion.tool_call
    if call is None:
        chunks = [completion.chunk({"role": "assistant", "content": ""})]
        chunks += [completion.chunk({"content": piece}) for piece in word_pieces(completion.content or "")]
        chunks.append(completion.chunk({}, "stop"))
    else:
        opening = {
            "index": 0,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        chunks = [
            completion.chunk({"role": "assistant", "content": None}),
            completion.chunk({"tool_calls": [opening]}),
        ]
        chunks += [
            completion.chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
            for piece in json_pieces(call.arguments)
        ]
        chunks.append(completion.chunk({}, "tool_calls"))
    if not include_usage:
        return tuple(chunks)
    # OpenAI marks every chunk with a null usage once usage was asked for, then adds a usage-only chunk.
    closing = completion.envelope("chat.completion.chunk", []) | {"usage": completion.usage}
    return (*(chunk | {"usage": None} for chunk in chunks), closing)
