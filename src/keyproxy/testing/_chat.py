"""Chat completions as the fake answers them: an echo of the last user message, JSON when a response format
asks for it, or calls of the tools offered; `n` choices alike, with log probabilities when asked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from keyproxy.testing._delivery import DONE, JsonReply, Reply, StreamReply, data_frames
from keyproxy.testing._schema import instance
from keyproxy.testing._text import (
    echo_object,
    fake_arguments,
    images_note,
    json_pieces,
    named_tools,
    word_pieces,
    words,
)
from keyproxy.testing.responses import invalid_request

LOGPROB = -0.25
"""The log probability of every token the fake says; the alternatives it offers are each one less likely."""


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
    tool_calls: tuple[_ToolCall, ...]
    usage: dict[str, int]
    choices: int
    top_logprobs: int | None
    """None when log probabilities were not asked for; else how many alternatives each token lists."""

    def chunk(self, index: int, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        logprobs = self.logprobs(delta.get("content")) if delta.get("content") else None
        choice = {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish_reason}
        return self.envelope("chat.completion.chunk", [choice])

    def envelope(self, kind: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }

    def logprobs(self, text: str | None) -> dict[str, Any] | None:
        if self.top_logprobs is None or text is None:
            return None
        return {"content": [_token(piece, self.top_logprobs) for piece in word_pieces(text)], "refusal": None}


def chat_reply(body: dict[str, Any], *, serial: int, created: int) -> Reply:
    messages = body.get("messages")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return JsonReply(400, invalid_request("you must provide a model parameter", "model"))
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        return JsonReply(400, invalid_request("messages must be a non-empty array of objects", "messages"))
    n = body.get("n") or 1
    if not isinstance(n, int) or not 1 <= n <= 128:
        return JsonReply(400, invalid_request("n must be an integer from 1 to 128", "n"))

    content, tool_calls = _answer(messages, body, serial)
    said = content if not tool_calls else " ".join(f"{call.name} {call.arguments}" for call in tool_calls)
    completion_words = words(said) * n
    prompt_words = sum(words(_text(message.get("content"))) for message in messages)
    usage = {
        "prompt_tokens": prompt_words,
        "completion_tokens": completion_words,
        "total_tokens": prompt_words + completion_words,
    }
    top_logprobs = None
    if body.get("logprobs") is True:
        top = body.get("top_logprobs")
        top_logprobs = top if isinstance(top, int) else 0
    completion = _Completion(f"chatcmpl-fake-{serial}", created, model, content, tool_calls, usage, n, top_logprobs)
    if body.get("stream") is True:
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        return StreamReply((*data_frames(_chunks(completion, include_usage=include_usage)), DONE))
    return JsonReply(200, _whole(completion))


def _answer(
    messages: list[dict[str, Any]], body: dict[str, Any], serial: int
) -> tuple[str | None, tuple[_ToolCall, ...]]:
    last = messages[-1]
    if last.get("role") == "tool":
        return "Tool said: " + _text(last.get("content")), ()
    user: dict[str, Any] = next((m for m in reversed(messages) if m.get("role") == "user"), {})
    functions = _chosen_functions(body, _text(user.get("content")))
    if functions:
        calls = tuple(
            _ToolCall(f"call_fake_{serial}_{n}" if n else f"call_fake_{serial}", f["name"], _arguments(f))
            for n, f in enumerate(functions)
        )
        return None, calls
    structured = _structured(body.get("response_format"), _text(user.get("content")))
    if structured is not None:
        return structured, ()
    return "Echo: " + _text(user.get("content")) + _images(user.get("content")), ()


def _structured(response_format: object, said: str) -> str | None:
    """JSON text for a json_schema or json_object response format; None for text."""
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "json_object":
        return msgspec.json.encode(echo_object(said)).decode()
    spec = response_format.get("json_schema") if isinstance(response_format, dict) else None
    if kind == "json_schema" and isinstance(spec, dict):
        return msgspec.json.encode(instance(spec.get("schema"))).decode()
    return None


def _chosen_functions(body: dict[str, Any], said: str) -> list[dict[str, Any]]:
    """The functions named by `tool_choice`, else those the prompt names (one unless parallel calls are off),
    else the first; none when tools are off or absent."""
    tools, choice = body.get("tools"), body.get("tool_choice")
    if choice == "none" or not isinstance(tools, list):
        return []
    functions = [
        tool["function"]
        for tool in tools
        if isinstance(tool, dict)
        and isinstance(tool.get("function"), dict)
        and isinstance(tool["function"].get("name"), str)
    ]
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        named = [f for f in functions if f["name"] == choice["function"].get("name")]
        return (named or functions)[:1]
    wanted = named_tools([f["name"] for f in functions], said)
    if wanted and body.get("parallel_tool_calls") is not False:
        return [f for f in functions if f["name"] in wanted]
    return functions[:1]


def _arguments(function: dict[str, Any]) -> str:
    return msgspec.json.encode(fake_arguments(function.get("parameters"))).decode()


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


def _token(piece: str, alternatives: int) -> dict[str, Any]:
    top = [{"token": piece, "logprob": LOGPROB, "bytes": list(piece.encode())}]
    top += [
        {"token": f"alt{n}", "logprob": LOGPROB - n, "bytes": list(f"alt{n}".encode())} for n in range(1, alternatives)
    ]
    return {"token": piece, "logprob": LOGPROB, "bytes": list(piece.encode()), "top_logprobs": top[:alternatives]}


def _whole(completion: _Completion) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": completion.content, "refusal": None}
    finish_reason = "stop"
    if completion.tool_calls:
        message["tool_calls"] = [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in completion.tool_calls
        ]
        finish_reason = "tool_calls"
    logprobs = completion.logprobs(completion.content)
    choices = [
        {"index": index, "message": message, "logprobs": logprobs, "finish_reason": finish_reason}
        for index in range(completion.choices)
    ]
    return completion.envelope("chat.completion", choices) | {"usage": completion.usage}


def _chunks(completion: _Completion, *, include_usage: bool) -> tuple[dict[str, Any], ...]:
    chunks = [chunk for index in range(completion.choices) for chunk in _choice_chunks(completion, index)]
    if not include_usage:
        return tuple(chunks)
    # OpenAI marks every chunk with a null usage once usage was asked for, then adds a usage-only chunk.
    closing = completion.envelope("chat.completion.chunk", []) | {"usage": completion.usage}
    return (*(chunk | {"usage": None} for chunk in chunks), closing)


def _choice_chunks(completion: _Completion, index: int) -> list[dict[str, Any]]:
    if not completion.tool_calls:
        chunks = [completion.chunk(index, {"role": "assistant", "content": ""})]
        chunks += [completion.chunk(index, {"content": piece}) for piece in word_pieces(completion.content or "")]
        chunks.append(completion.chunk(index, {}, "stop"))
        return chunks
    chunks = [completion.chunk(index, {"role": "assistant", "content": None})]
    for position, call in enumerate(completion.tool_calls):
        opening = {
            "index": position,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        chunks.append(completion.chunk(index, {"tool_calls": [opening]}))
        chunks += [
            completion.chunk(index, {"tool_calls": [{"index": position, "function": {"arguments": piece}}]})
            for piece in json_pieces(call.arguments)
        ]
    chunks.append(completion.chunk(index, {}, "tool_calls"))
    return chunks
