"""A Responses API request as an OpenAI chat-completions request, for upstreams without the Responses API.

Whatever the chat request cannot carry raises InvalidRequest (400) naming it, before any upstream is
called; nothing the client asked for is dropped without a word (docs/translation.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from keyproxy.errors import InvalidRequest
from keyproxy.translate.malformed import malformed_request

# Fields translated below, or kept by the gateway (store, previous_response_id, metadata are its own business).
_HANDLED = frozenset({
    "model", "input", "instructions", "stream", "tools", "tool_choice", "parallel_tool_calls", "text",
    "reasoning", "max_output_tokens", "temperature", "top_p", "user", "safety_identifier", "store",
    "previous_response_id", "metadata", "include", "truncation", "background", "top_logprobs",
})  # fmt: skip
# Hints that change nothing a translated answer could show: caching keys, billing tier, stream obfuscation,
# and limits on hosted tools (which are refused anyway).
_IGNORED = frozenset({"prompt_cache_key", "prompt_cache_retention", "service_tier", "stream_options", "max_tool_calls"})
_ROLES = {"user": "user", "system": "system", "developer": "system", "assistant": "assistant"}
_ASSISTANT_SIDE = frozenset({"function_call", "reasoning"})


@malformed_request("Responses API input")
def input_items(request: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The request's `input` as a list of items; a string is one user message."""
    raw = request.get("input")
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    if isinstance(raw, list) and all(isinstance(item, dict) for item in raw):
        return list(raw)
    raise InvalidRequest('"input" must be a string or a list of input items')


@malformed_request("Responses API request")
def responses_to_chat(request: Mapping[str, Any], prior: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """`prior` is the stored conversation `previous_response_id` names (its items and outputs), in order."""
    _check_fields(request)
    messages: list[dict[str, Any]] = []
    instructions = request.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    _Conversation(messages).add([*prior, *input_items(request)])
    chat: dict[str, Any] = {"model": request.get("model"), "messages": messages}
    tools = request.get("tools")
    if tools:
        chat["tools"] = [_tool(tool) for tool in tools]
        if "tool_choice" in request:
            chat["tool_choice"] = _tool_choice(request["tool_choice"])
        if isinstance(request.get("parallel_tool_calls"), bool):
            chat["parallel_tool_calls"] = request["parallel_tool_calls"]
    _text(request.get("text"), chat)
    reasoning = request.get("reasoning")
    if isinstance(reasoning, Mapping) and reasoning.get("effort") is not None:
        chat["reasoning_effort"] = reasoning["effort"]
    if request.get("max_output_tokens") is not None:
        # max_tokens, not max_completion_tokens: every OpenAI-compatible server knows it.
        chat["max_tokens"] = request["max_output_tokens"]
    for name in ("temperature", "top_p"):
        if request.get(name) is not None:
            chat[name] = request[name]
    user = request.get("user") or request.get("safety_identifier")
    if isinstance(user, str) and user:
        chat["user"] = user
    if request.get("stream") is True:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def _check_fields(request: Mapping[str, Any]) -> None:
    for name, value in request.items():
        if name in _HANDLED or name in _IGNORED or value is None:
            continue
        raise InvalidRequest(f'"{name}" is not supported when the Responses API is translated to chat completions')
    if request.get("background") is True:
        raise InvalidRequest('"background": true is not supported: the answer is relayed while it is made')
    if request.get("truncation") not in (None, "disabled"):
        raise InvalidRequest('"truncation": "auto" is not supported: the upstream is not asked to drop context')
    if request.get("top_logprobs"):
        raise InvalidRequest('"top_logprobs" is not supported when the Responses API is translated')
    include = request.get("include") or []
    if "message.output_text.logprobs" in include:
        raise InvalidRequest('"include": "message.output_text.logprobs" is not supported when translated')


class _Conversation:
    """Input items become chat messages. A run of assistant-side items (reasoning, assistant messages and
    function calls) becomes one assistant message, since chat wants a turn's reasoning, text and tool calls
    together, before the tool results."""

    __slots__ = ("_assistant", "_messages", "_reasoning")

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self._messages = messages
        self._assistant: dict[str, Any] | None = None
        # Reasoning waits for the text or call it led to: an assistant turn of reasoning alone is no turn.
        self._reasoning: list[str] = []

    def add(self, items: Sequence[Mapping[str, Any]]) -> None:
        for item in items:
            kind = item.get("type") or ("message" if "role" in item else None)
            if kind == "message" and item.get("role") == "assistant":
                self._assistant_text(item)
            elif kind == "function_call":
                self._function_call(item)
            elif kind == "reasoning":
                # Readable reasoning goes back as reasoning_content (for_target decides whether the provider
                # takes it); OpenAI's encrypted_content means nothing to another provider.
                self._reasoning.extend(_reasoning_texts(item))
            elif kind == "message":
                self._assistant, self._reasoning = None, []
                self._messages.append(_message(item))
            elif kind == "function_call_output":
                self._assistant, self._reasoning = None, []
                self._messages.append(_tool_result(item))
            elif kind == "item_reference":
                raise InvalidRequest("input item_reference is not supported when translated: send the item itself")
            else:
                raise InvalidRequest(f"input items of type {kind!r} cannot be translated to chat completions")

    def _turn(self) -> dict[str, Any]:
        if self._assistant is None:
            self._assistant = {"role": "assistant", "content": None}
            self._messages.append(self._assistant)
        if self._reasoning:
            earlier = self._assistant.get("reasoning_content")
            texts = [earlier, *self._reasoning] if earlier else self._reasoning
            self._assistant["reasoning_content"] = "\n".join(texts)
            self._reasoning = []
        return self._assistant

    def _assistant_text(self, item: Mapping[str, Any]) -> None:
        text = _assistant_content(item.get("content"))
        turn = self._turn()
        if text:
            turn["content"] = f"{turn['content']}\n{text}" if turn["content"] else text

    def _function_call(self, item: Mapping[str, Any]) -> None:
        call_id, name = item.get("call_id"), item.get("name")
        if not isinstance(call_id, str) or not isinstance(name, str):
            raise InvalidRequest("a function_call input item needs call_id and name")
        arguments = item.get("arguments")
        function = {"name": name, "arguments": arguments if isinstance(arguments, str) else "{}"}
        self._turn().setdefault("tool_calls", []).append({"id": call_id, "type": "function", "function": function})


def _reasoning_texts(item: Mapping[str, Any]) -> list[str]:
    """The reasoning's own text where the item has it, else its summary."""
    for field, kind in (("content", "reasoning_text"), ("summary", "summary_text")):
        parts = item.get(field)
        if not isinstance(parts, list):
            continue
        texts = [str(part.get("text") or "") for part in parts if isinstance(part, dict) and part.get("type") == kind]
        if any(texts):
            return ["".join(texts)]
    return []


def _message(item: Mapping[str, Any]) -> dict[str, Any]:
    role = _ROLES.get(str(item.get("role")))
    if role is None:
        raise InvalidRequest(f"input message role {item.get('role')!r} is not user, system, developer or assistant")
    content = item.get("content")
    if isinstance(content, str):
        return {"role": role, "content": content}
    if not isinstance(content, list):
        raise InvalidRequest("an input message needs content: a string or a list of parts")
    parts = [_part(part) for part in content]
    if role == "system":
        if any(part["type"] != "text" for part in parts):
            raise InvalidRequest("system and developer messages carry text only")
        return {"role": role, "content": "\n".join(part["text"] for part in parts)}
    return {"role": role, "content": parts}


def _part(part: object) -> dict[str, Any]:
    if not isinstance(part, dict):
        raise InvalidRequest("message content parts must be objects")
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "text": str(part.get("text") or "")}
    if kind == "input_image":
        url = part.get("image_url")
        if not isinstance(url, str) or not url:
            raise InvalidRequest("input_image by file_id is not supported when translated: send image_url")
        image = {"url": url} | ({"detail": part["detail"]} if part.get("detail") else {})
        return {"type": "image_url", "image_url": image}
    if kind == "input_file":
        data = part.get("file_data")
        if not isinstance(data, str) or not data:
            raise InvalidRequest("input_file by file_id or file_url is not supported when translated: send file_data")
        return {"type": "file", "file": {"file_data": data, "filename": part.get("filename") or "file"}}
    if kind == "input_audio":
        return {"type": "input_audio", "input_audio": part.get("input_audio")}
    raise InvalidRequest(f"content parts of type {kind!r} cannot be translated to chat completions")


def _assistant_content(content: object) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = []
    for part in content:
        if isinstance(part, dict) and part.get("type") in ("output_text", "input_text", "text"):
            texts.append(str(part.get("text") or ""))
        elif isinstance(part, dict) and part.get("type") == "refusal":
            texts.append(str(part.get("refusal") or ""))
    return "".join(texts)


def _tool_result(item: Mapping[str, Any]) -> dict[str, Any]:
    call_id = item.get("call_id")
    if not isinstance(call_id, str):
        raise InvalidRequest("a function_call_output input item needs call_id")
    output = item.get("output")
    if isinstance(output, list):
        parts = [_part(part) for part in output]
        if any(part["type"] != "text" for part in parts):
            # Chat tool messages carry text only; dropping the image would hide it from the model.
            raise InvalidRequest("a function_call_output with images or files cannot be translated to chat")
        output = "\n".join(part["text"] for part in parts)
    elif not isinstance(output, str):
        raise InvalidRequest("a function_call_output's output must be a string or a list of parts")
    return {"role": "tool", "tool_call_id": call_id, "content": output}


def _tool(tool: object) -> dict[str, Any]:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        kind = tool.get("type") if isinstance(tool, dict) else tool
        raise InvalidRequest(f"tools of type {kind!r} are hosted by OpenAI; only function tools can be translated")
    if not isinstance(tool.get("name"), str):
        raise InvalidRequest("a function tool needs a name")
    function = {key: tool[key] for key in ("name", "description", "parameters", "strict") if tool.get(key) is not None}
    return {"type": "function", "function": function}


def _tool_choice(choice: object) -> object:
    if choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("name"), str):
        return {"type": "function", "function": {"name": choice["name"]}}
    raise InvalidRequest(f"tool_choice {choice!r} cannot be translated: use auto, none, required or a function")


def _text(text: object, chat: dict[str, Any]) -> None:
    if not isinstance(text, Mapping):
        return
    if text.get("verbosity") is not None:
        chat["verbosity"] = text["verbosity"]
    form = text.get("format")
    if not isinstance(form, Mapping) or form.get("type") in (None, "text"):
        return
    if form["type"] == "json_object":
        chat["response_format"] = {"type": "json_object"}
        return
    if form["type"] != "json_schema":
        raise InvalidRequest(f"text.format {form['type']!r} is not one of text, json_object, json_schema")
    if not isinstance(form.get("name"), str) or not isinstance(form.get("schema"), dict):
        raise InvalidRequest("text.format json_schema needs a name and a schema")
    schema = {key: form[key] for key in ("name", "schema", "description", "strict") if form.get(key) is not None}
    chat["response_format"] = {"type": "json_schema", "json_schema": schema}


def replayable(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A conversation keyproxy stored, as input for an upstream with its own Responses API: the item ids
    were made here and mean nothing there, and reasoning made elsewhere cannot be handed back."""
    return [{key: value for key, value in item.items() if key != "id"} for item in items
            if item.get("type") != "reasoning"]  # fmt: skip
