"""Whether a stream has begun its answer, in any dialect keyproxy relays (chat and completions chunks,
Anthropic Messages, Responses events).

Reasoning, a role, pings and the envelope's opening events come before the answer; anything else,
an end or an error or an event that cannot be read, counts as the answer, so that only what is surely
reasoning is ever held back (STREAM_RETRY_ON_REASONING_ONLY).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from keyproxy.translate.sse import Event, SSEParser

_PREAMBLE = frozenset({"message_start", "ping", "content_block_stop", "response.created", "response.in_progress"})
_THINKING_BLOCKS = frozenset({"thinking", "redacted_thinking"})
_THINKING_DELTAS = frozenset({"thinking_delta", "signature_delta"})
_ANSWER_FIELDS = ("content", "text")
_CALL_FIELDS = ("tool_calls", "function_call")


class Opening:
    """Fed a stream's bytes in any pieces; `answered` once an event of the answer itself has arrived."""

    __slots__ = ("_parser", "answered")

    def __init__(self) -> None:
        self._parser = SSEParser()
        self.answered = False

    def feed(self, chunk: bytes) -> bool:
        if not self.answered:
            self.answered = any(not before_answer(event) for event in self._parser.feed(chunk))
        return self.answered


def before_answer(event: Event) -> bool:
    """Whether the event carries nothing of the answer: reasoning, or an opening with no content yet."""
    try:
        data = json.loads(event.data)
    except ValueError:
        return False
    if not isinstance(data, dict) or "error" in data:
        return False
    kind = data.get("type")
    if isinstance(kind, str):
        return _typed_before_answer(kind, data)
    choices = data.get("choices")
    return isinstance(choices, list) and all(_choice_before_answer(choice) for choice in choices)


def _typed_before_answer(kind: str, data: Mapping[str, Any]) -> bool:
    if kind in _PREAMBLE or kind.startswith("response.reasoning"):
        return True
    if kind == "content_block_start":
        block = data.get("content_block")
        return isinstance(block, dict) and (
            block.get("type") in _THINKING_BLOCKS or (block.get("type") == "text" and not _has_text(block, "text"))
        )
    if kind == "content_block_delta":
        delta = data.get("delta")
        return isinstance(delta, dict) and delta.get("type") in _THINKING_DELTAS
    if kind in ("response.output_item.added", "response.output_item.done"):
        item = data.get("item")
        return isinstance(item, dict) and item.get("type") == "reasoning"
    return False


def _choice_before_answer(choice: object) -> bool:
    if not isinstance(choice, dict) or choice.get("finish_reason") is not None:
        return False
    for part in (choice, choice.get("delta")):
        if not isinstance(part, dict):
            continue
        if any(_has_text(part, field) for field in _ANSWER_FIELDS) or any(part.get(f) for f in _CALL_FIELDS):
            return False
    return True


def _has_text(part: Mapping[str, Any], field: str) -> bool:
    """Blank text is no answer yet (some models open with a newline); anything but a string is one."""
    value = part.get(field)
    return value is not None and not (isinstance(value, str) and not value.strip())
