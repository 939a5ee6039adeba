"""A model's reasoning in chat-completions history: read in every spelling, written in the one a target takes.

Chat has no standard field for reasoning. DeepSeek and Kimi answer with `reasoning_content` and, in
thinking mode, require it back on an assistant turn that called tools; OpenRouter answers `reasoning` and
`reasoning_details` (which carries signatures); OpenAI and several others reject an unknown message field.
Translators write the canonical pair (`reasoning_content` for the text, `reasoning_details` for signed or
encrypted blocks) and `for_target` respells or drops it for the provider the request goes to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from keyproxy.config.settings import ReasoningField

_TEXT = "reasoning.text"
_ENCRYPTED = "reasoning.encrypted"


def text_of(message: Mapping[str, Any]) -> str | None:
    for field in ("reasoning_content", "reasoning"):
        value = message.get(field)
        if isinstance(value, str) and value:
            return value
    return None


def details(blocks: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Anthropic thinking blocks as `reasoning_details`, signatures and redacted data kept for the trip back."""
    found: list[dict[str, Any]] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "thinking" and block.get("signature"):
            found.append({"type": _TEXT, "text": block.get("thinking", ""), "signature": block["signature"]})
        elif kind == "redacted_thinking" and block.get("data"):
            found.append({"type": _ENCRYPTED, "data": block["data"]})
    return found


def thinking_blocks(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The signed blocks `details` made, as Anthropic takes them back; unsigned reasoning has no place there."""
    entries = message.get("reasoning_details")
    blocks: list[dict[str, Any]] = []
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, Mapping):
            continue
        if entry.get("type") == _TEXT and isinstance(entry.get("signature"), str) and entry["signature"]:
            text = entry.get("text") if isinstance(entry.get("text"), str) else ""
            blocks.append({"type": "thinking", "thinking": text, "signature": entry["signature"]})
        elif entry.get("type") == _ENCRYPTED and isinstance(entry.get("data"), str):
            blocks.append({"type": "redacted_thinking", "data": entry["data"]})
    return blocks


def for_target(chat: dict[str, Any], field: ReasoningField | None) -> dict[str, Any]:
    """`chat` as a provider taking reasoning back in `field` (None: not at all) reads it. Only the assistant
    messages that carry reasoning are copied; a chat without any is returned as it is."""
    messages = chat.get("messages")
    if not isinstance(messages, list) or not any(_carries(message) for message in messages):
        return chat
    return {**chat, "messages": [_respelled(message, field) if _carries(message) else message for message in messages]}


_FIELDS = frozenset({"reasoning_content", "reasoning", "reasoning_details"})


def _carries(message: Any) -> bool:
    return isinstance(message, dict) and not _FIELDS.isdisjoint(message)


def _respelled(message: dict[str, Any], field: ReasoningField | None) -> dict[str, Any]:
    text = text_of(message)
    out = {key: value for key, value in message.items() if key not in _FIELDS}
    if field is not None and text:
        out[field] = text
    if field == "reasoning" and message.get("reasoning_details"):
        # OpenRouter's own field: signed blocks go back through it to an Anthropic model behind it.
        out["reasoning_details"] = message["reasoning_details"]
    return out
