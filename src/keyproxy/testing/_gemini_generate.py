"""Gemini generateContent as the fake answers it: an echo, a function call, a thought, or a blocked prompt.

Google's endpoints accept proto field names (`function_declarations`) as well as JSON ones
(`functionDeclarations`); so does the fake. It always answers with the JSON names.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Literal

import msgspec

from keyproxy.testing._delivery import JsonReply, Reply, StreamReply, data_frames
from keyproxy.testing._gemini_errors import google_error
from keyproxy.testing._text import fake_arguments, fake_json, images_note, word_pieces, words

BLOCKED_MODEL = "blocked-model"
THOUGHT = "Thinking about it."

Stream = Literal["sse", "json"]

_UPPER = re.compile(r"([A-Z])")


def generate_reply(body: dict[str, Any], *, model: str, stream: Stream | None) -> Reply:
    """`stream` None for generateContent; streamGenerateContent is SSE with `alt=sse`, else a JSON array."""
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents or not all(isinstance(c, dict) for c in contents):
        return JsonReply(400, google_error(400, "* GenerateContentRequest.contents: contents is not specified"))
    prompt = prompt_words(body)
    if model == BLOCKED_MODEL:
        usage = {"promptTokenCount": prompt, "totalTokenCount": prompt}
        blocked = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": usage, "modelVersion": model}
        return _delivered([blocked], stream)

    parts = _answer(body, contents)
    thoughts = sum(words(part["text"]) for part in parts if part.get("thought"))
    answer = sum(_words(part) for part in parts if not part.get("thought"))
    usage = {"promptTokenCount": prompt, "candidatesTokenCount": answer, "totalTokenCount": prompt + answer + thoughts}
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    if stream is None:
        return JsonReply(200, _response(parts, model, usage))
    pieces = [piece for part in parts for piece in _pieces(part)]
    responses = [_response([piece], model) for piece in pieces[:-1]]
    responses.append(_response(pieces[-1:], model, usage))
    return _delivered(responses, stream)


def prompt_words(body: dict[str, Any]) -> int:
    """Words in the text parts of every content and of the system instruction."""
    contents = body.get("contents")
    texts = [_text(content) for content in contents if isinstance(content, dict)] if isinstance(contents, list) else []
    system = pick(body, "systemInstruction")
    if isinstance(system, dict):
        texts.append(_text(system))
    return sum(words(text) for text in texts)


def pick(mapping: dict[str, Any], name: str) -> Any:
    """A field by its JSON name, or else by its proto name."""
    return mapping[name] if name in mapping else mapping.get(_proto_name(name))


def parts_of(content: object) -> list[dict[str, Any]]:
    parts = content.get("parts") if isinstance(content, dict) else None
    return [part for part in parts if isinstance(part, dict)] if isinstance(parts, list) else []


@functools.cache
def _proto_name(name: str) -> str:
    return _UPPER.sub(r"_\1", name).lower()


def _answer(body: dict[str, Any], contents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    thinking = pick(_mapping(pick(body, "generationConfig")), "thinkingConfig")
    if isinstance(thinking, dict) and pick(thinking, "includeThoughts") is True:
        parts.append({"text": THOUGHT, "thought": True})
    results = [pick(part, "functionResponse") for part in parts_of(contents[-1])]
    results = [result for result in results if isinstance(result, dict)]
    declaration = None if results else _chosen_function(body)
    if results:
        said = " ".join(msgspec.json.encode(result.get("response")).decode() for result in results)
        parts.append({"text": "Tool said: " + said})
    elif declaration is not None:
        schema = pick(declaration, "parameters") or pick(declaration, "parametersJsonSchema")
        parts.append({"functionCall": {"name": declaration["name"], "args": fake_arguments(schema)}})
    elif (answer_schema := pick(_mapping(pick(body, "generationConfig")), "responseSchema")) is not None:
        parts.append({"text": fake_json(answer_schema)})
    else:
        user: dict[str, Any] = next((c for c in reversed(contents) if c.get("role", "user") == "user"), {})
        images = sum(1 for part in parts_of(user) if isinstance(pick(part, "inlineData"), dict))
        parts.append({"text": "Echo: " + _text(user) + images_note(images)})
    return parts


def _chosen_function(body: dict[str, Any]) -> dict[str, Any] | None:
    """The first declared function (of those allowed, in mode ANY); None in mode NONE or without any."""
    calling = _mapping(pick(_mapping(pick(body, "toolConfig")), "functionCallingConfig"))
    if str(calling.get("mode", "AUTO")).upper() == "NONE":
        return None
    tools = body.get("tools")
    declared = [
        declaration
        for tool in (tools if isinstance(tools, list) else [])
        if isinstance(tool, dict)
        for declaration in (pick(tool, "functionDeclarations") or [])
        if isinstance(declaration, dict) and isinstance(declaration.get("name"), str)
    ]
    allowed = pick(calling, "allowedFunctionNames")
    if isinstance(allowed, list):
        declared = [d for d in declared if d["name"] in allowed] or declared
    return declared[0] if declared else None


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(content: dict[str, Any]) -> str:
    """The text parts of a content, thoughts left out, joined by spaces."""
    return " ".join(
        part["text"] for part in parts_of(content) if isinstance(part.get("text"), str) and not part.get("thought")
    )


def _words(part: dict[str, Any]) -> int:
    call = part.get("functionCall")
    if isinstance(call, dict):
        return words(call["name"]) + len(call["args"])
    return words(part.get("text"))


def _pieces(part: dict[str, Any]) -> list[dict[str, Any]]:
    """Answer text split into word pieces; thoughts and function calls come whole, as Gemini sends them."""
    text = part.get("text")
    if part.get("thought") or not isinstance(text, str):
        return [part]
    # Every answer text starts with two pieces ("Echo:", " ..."), so there are always two events.
    return [{"text": piece} for piece in word_pieces(text)]


def _response(parts: list[dict[str, Any]], model: str, usage: dict[str, int] | None = None) -> dict[str, Any]:
    """One GenerateContentResponse; `usage` marks the last one, which also carries the finish reason."""
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}}
    if usage is not None:
        candidate["finishReason"] = "STOP"
    candidate["index"] = 0
    response: dict[str, Any] = {"candidates": [candidate]}
    if usage is not None:
        response["usageMetadata"] = usage
    response["modelVersion"] = model
    return response


def _delivered(responses: list[dict[str, Any]], stream: Stream | None) -> Reply:
    if stream == "sse":
        # Gemini ends each event with CRLF CRLF and sends no [DONE].
        return StreamReply(data_frames(responses, end=b"\r\n\r\n"))
    if stream == "json":
        return JsonReply(200, responses)
    return JsonReply(200, responses[0])
