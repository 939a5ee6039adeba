"""OpenAI's Responses API as the fake answers it: an echo, a function call, "Tool said: ..." after a
function_call_output, JSON for a json_schema format; responses kept per key (as OpenAI keeps them per
project), readable and deletable only with the key that made them, and continued by previous_response_id."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any

import msgspec

from keyproxy.testing._delivery import JsonReply, Reply
from keyproxy.testing._dialect import Handler
from keyproxy.testing._responses_stream import response_stream
from keyproxy.testing._schema import instance
from keyproxy.testing._text import fake_arguments, words
from keyproxy.testing.responses import error_body, invalid_request

THOUGHT = "Thinking about it."


class ResponsesAPI:
    """`handler(method, rest, key)`: the handler of POST `/responses` (rest "") or GET and DELETE
    `/responses/{id}` (rest the id) for a request with `key`; None for anything else under /responses."""

    def __init__(self, serial: itertools.count[int], created: Callable[[], int]) -> None:
        self._serial = serial
        self._created = created
        self._lock = threading.Lock()
        # (key, response id) -> (the response, the whole conversation up to and including its output).
        self._kept: dict[tuple[str | None, str], tuple[dict[str, Any], list[dict[str, Any]]]] = {}

    def handler(self, method: str, rest: str, key: str | None) -> Handler | None:
        if method == "POST" and not rest:
            return lambda body: self._create(body, key)
        if method in ("GET", "DELETE") and rest and "/" not in rest:
            return lambda body: self._read(method, rest, key)
        return None

    def reset(self) -> None:
        with self._lock:
            self._kept.clear()

    def _create(self, body: dict[str, Any], key: str | None) -> Reply:
        model, raw_input = body.get("model"), body.get("input")
        if not isinstance(model, str) or not model:
            return JsonReply(400, invalid_request("Missing required parameter: 'model'.", "model"))
        items = [{"type": "message", "role": "user", "content": raw_input}] if isinstance(raw_input, str) else raw_input
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            return JsonReply(400, invalid_request("Invalid type for 'input'.", "input"))
        conversation: list[dict[str, Any]] = []
        previous = body.get("previous_response_id")
        if previous is not None:
            with self._lock:
                found = self._kept.get((key, str(previous)))
            if found is None:
                error = error_body(f"Previous response with id '{previous}' not found.", "invalid_request_error",
                                   "previous_response_not_found", "previous_response_id")  # fmt: skip
                return JsonReply(400, error)
            conversation = list(found[1])
        conversation += items
        serial = next(self._serial)
        output = _output(body, conversation, serial)
        prompt = words(body.get("instructions") if isinstance(body.get("instructions"), str) else "")
        prompt += sum(words(_text(item)) for item in conversation)
        completion = sum(words(_text(item)) for item in output)
        response = _response(body, f"resp_fake_{serial}", self._created(), output, prompt, completion)
        if body.get("store") is not False:
            with self._lock:
                self._kept[(key, response["id"])] = (response, conversation + output)
        if body.get("stream") is True:
            return response_stream(response)
        return JsonReply(200, response)

    def _read(self, method: str, response_id: str, key: str | None) -> Reply:
        with self._lock:
            kept = self._kept
            found = kept.pop((key, response_id), None) if method == "DELETE" else kept.get((key, response_id))
        if found is None:
            return JsonReply(404, error_body(f"Response with id '{response_id}' not found.", "invalid_request_error"))
        if method == "DELETE":
            return JsonReply(200, {"id": response_id, "object": "response", "deleted": True})
        return JsonReply(200, found[0])


def _output(body: dict[str, Any], conversation: list[dict[str, Any]], serial: int) -> list[dict[str, Any]]:
    output: list[dict[str, Any]] = []
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and reasoning.get("effort") not in (None, "none", "minimal"):
        summary = [{"type": "summary_text", "text": THOUGHT}]
        output.append({"id": f"rs_fake_{serial}", "type": "reasoning", "summary": summary})
    last = conversation[-1] if conversation else {}
    tool = None if last.get("type") == "function_call_output" else _chosen_tool(body)
    if tool is not None:
        arguments = msgspec.json.encode(fake_arguments(tool.get("parameters"))).decode()
        output.append({"id": f"fc_fake_{serial}", "type": "function_call", "status": "completed",
                       "arguments": arguments, "call_id": f"call_fake_{serial}", "name": tool["name"]})  # fmt: skip
        return output
    if last.get("type") == "function_call_output":
        text = "Tool said: " + _text(last)
    elif (schema := _schema(body)) is not None:
        text = msgspec.json.encode(instance(schema)).decode()
    else:
        user: dict[str, Any] = next((item for item in reversed(conversation) if item.get("role") == "user"), {})
        text = "Echo: " + _text(user)
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    output.append({"id": f"msg_fake_{serial}", "type": "message", "status": "completed", "role": "assistant",
                   "content": [part]})  # fmt: skip
    return output


def _response(
    body: dict[str, Any], response_id: str, created: int, output: list[dict[str, Any]], prompt: int, completion: int
) -> dict[str, Any]:
    """Fields in OpenAI's order; usage near the end, after the echoed request."""
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body["model"],
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion,
        },
        "user": None,
        "metadata": body.get("metadata") or {},
    }


def _chosen_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    """The function `tool_choice` names, else the first; None when tools are off or absent."""
    tools, choice = body.get("tools"), body.get("tool_choice")
    if choice == "none" or not isinstance(tools, list):
        return None
    functions = [
        tool for tool in tools
        if isinstance(tool, dict) and tool.get("type") == "function" and isinstance(tool.get("name"), str)
    ]  # fmt: skip
    if isinstance(choice, dict) and choice.get("type") == "function":
        functions = [f for f in functions if f["name"] == choice.get("name")] or functions
    return functions[0] if functions else None


def _schema(body: dict[str, Any]) -> dict[str, Any] | None:
    text = body.get("text")
    form = text.get("format") if isinstance(text, dict) else None
    schema = form.get("schema") if isinstance(form, dict) and form.get("type") == "json_schema" else None
    return schema if isinstance(schema, dict) else None


def _text(item: dict[str, Any]) -> str:
    """The words of a message, a function call or a function call's output."""
    if item.get("type") == "function_call":
        return f"{item.get('name', '')} {item.get('arguments', '')}"
    content = item.get("output") if item.get("type") == "function_call_output" else item.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return " ".join(str(part.get("text")) for part in content if isinstance(part, dict) and "text" in part)
