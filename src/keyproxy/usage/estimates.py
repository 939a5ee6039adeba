"""The answers of POST /v1/token-count and POST /v1/cost-estimate, from a parsed JSON body."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import msgspec

from keyproxy.errors import InvalidRequest
from keyproxy.events import Tokens
from keyproxy.usage.prices import PriceTable

_CHARS_PER_TOKEN = 4


def token_count(body: Mapping[str, Any]) -> dict[str, object]:
    """Estimate the prompt tokens of {"model", "messages": [...]} or {"model", "text"} without a tokenizer.

    Counts the characters of every text the model would read (message text and text parts, a system
    prompt, tool call arguments, tool results) at four characters a token, rounded up, at least 1.
    Real counts differ by model and language; this is the same rough rule for all of them.
    """
    model = _model(body)
    messages, text = body.get("messages"), body.get("text")
    if messages is None and text is None:
        raise InvalidRequest('token-count needs "messages" (a list) or "text" (a string)')
    chars = 0
    if text is not None:
        if not isinstance(text, str):
            raise InvalidRequest('"text" must be a string')
        chars += len(text)
    if messages is not None:
        if not isinstance(messages, list):
            raise InvalidRequest('"messages" must be a list of messages')
        for index, message in enumerate(messages):
            if not isinstance(message, Mapping):
                raise InvalidRequest(f'"messages[{index}]" must be an object')
            chars += _message_chars(message)
    # Anthropic-style requests carry the system prompt beside the messages.
    chars += _content_chars(body.get("system"))
    tokens = max(1, math.ceil(chars / _CHARS_PER_TOKEN))
    return {"model": model, "prompt_tokens": tokens, "method": "estimate"}


def cost_estimate(body: Mapping[str, Any], table: PriceTable) -> dict[str, object]:
    """What {"model": "provider/model", "prompt_tokens", "completion_tokens", "cached_tokens"?} would cost in USD.

    `cost` and `price_per_million` are None and `known` false when no price is known for the model.
    """
    model = _model(body)
    provider, slash, name = model.partition("/")
    if not slash:
        provider, name = "", model
    prompt = _count(body, "prompt_tokens", required=True)
    completion = _count(body, "completion_tokens", required=True)
    cached = _count(body, "cached_tokens", required=False)
    if cached > prompt:
        raise InvalidRequest('"cached_tokens" cannot exceed "prompt_tokens": cached tokens are part of the prompt')
    price = table.price(provider, name)
    if price is None:
        return {"model": model, "currency": "USD", "cost": None, "price_per_million": None, "known": False}
    cost = table.cost(provider, name, Tokens(prompt=prompt, completion=completion, cached=cached))
    per_million = {
        "input": price.input,
        "output": price.output,
        # The rate the cost used: cached prompt tokens bill as input when the model has no cached price.
        "cached": price.input if price.cached is None else price.cached,
    }
    return {
        "model": model,
        "currency": "USD",
        # Rounded to drop binary float noise (0.30000000000000004); a millionth of a cent is far below any bill.
        "cost": None if cost is None else round(cost, 12),
        "price_per_million": per_million,
        "known": True,
    }


def _model(body: Mapping[str, Any]) -> str:
    if not isinstance(body, Mapping):
        raise InvalidRequest("the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequest('"model" is required and must be a non-empty string')
    return model


def _count(body: Mapping[str, Any], name: str, *, required: bool) -> int:
    value = body.get(name)
    if value is None and not required:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRequest(f'"{name}" must be a non-negative integer')
    return value


def _message_chars(message: Mapping[str, Any]) -> int:
    chars = _content_chars(message.get("content"))
    for call in _list(message.get("tool_calls")):
        if isinstance(call, Mapping) and isinstance(function := call.get("function"), Mapping):
            chars += _text_len(function.get("arguments"))
    if isinstance(function_call := message.get("function_call"), Mapping):
        chars += _text_len(function_call.get("arguments"))
    return chars


def _content_chars(content: object) -> int:
    """Characters in a string, or in the text, tool-use and tool-result parts of a content list."""
    if isinstance(content, str):
        return len(content)
    chars = 0
    for part in _list(content):
        if not isinstance(part, Mapping):
            continue
        chars += _text_len(part.get("text"))
        kind = part.get("type")
        if kind == "tool_use" and "input" in part:
            # Anthropic sends tool arguments as an object; the model reads them as JSON text.
            chars += len(msgspec.json.encode(part["input"]).decode())
        elif kind == "tool_result":
            chars += _content_chars(part.get("content"))
    return chars


def _text_len(value: object) -> int:
    return len(value) if isinstance(value, str) else 0


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
