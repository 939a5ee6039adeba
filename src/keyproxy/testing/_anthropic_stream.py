"""A finished Anthropic message as Anthropic streams it: message_start, ping, each block's deltas, message_stop."""

from __future__ import annotations

from typing import Any

import msgspec

from keyproxy.testing._delivery import StreamReply, named_frames
from keyproxy.testing._text import json_pieces, word_pieces


def message_stream(message: dict[str, Any]) -> StreamReply:
    usage = message["usage"]
    opening = message | {
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": usage["input_tokens"], "output_tokens": 1},
    }
    events: list[dict[str, Any]] = [{"type": "message_start", "message": opening}]
    for index, block in enumerate(message["content"]):
        start, deltas = _block_events(block)
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        if index == 0:
            # Where Anthropic sends its keep-alive: after the first block opens, before any delta.
            events.append({"type": "ping"})
        events += ({"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas)
        events.append({"type": "content_block_stop", "index": index})
    closing = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    events.append({"type": "message_delta", "delta": closing, "usage": {"output_tokens": usage["output_tokens"]}})
    events.append({"type": "message_stop"})
    first_delta = next((n for n, event in enumerate(events) if event["type"] == "content_block_delta"), 0)
    return StreamReply(named_frames(events), head=first_delta + 1)


def _block_events(block: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A block as it opens (empty), and the deltas that fill it."""
    if block["type"] == "thinking":
        thoughts = [{"type": "thinking_delta", "thinking": piece} for piece in word_pieces(block["thinking"])]
        signature = {"type": "signature_delta", "signature": block["signature"]}
        return {"type": "thinking", "thinking": "", "signature": ""}, [*thoughts, signature]
    if block["type"] == "tool_use":
        arguments = msgspec.json.encode(block["input"]).decode()
        # Anthropic opens the input with an empty piece before the JSON itself.
        pieces = ["", *json_pieces(arguments)]
        return block | {"input": {}}, [{"type": "input_json_delta", "partial_json": piece} for piece in pieces]
    return {"type": "text", "text": ""}, [{"type": "text_delta", "text": piece} for piece in word_pieces(block["text"])]
