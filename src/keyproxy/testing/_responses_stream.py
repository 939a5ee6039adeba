"""A finished Responses-API response as OpenAI streams it: created, in_progress, each output item added,
filled by deltas and done, then completed; every event numbered."""

from __future__ import annotations

from typing import Any

from keyproxy.testing._delivery import StreamReply, named_frames
from keyproxy.testing._text import json_pieces, word_pieces


def response_stream(response: dict[str, Any]) -> StreamReply:
    opening = response | {"status": "in_progress", "output": [], "usage": None}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": opening},
        {"type": "response.in_progress", "response": opening},
    ]
    for index, item in enumerate(response["output"]):
        events += _item_events(index, item)
    events.append({"type": "response.completed", "response": response})
    numbered = [{"type": event["type"], "sequence_number": number, **event} for number, event in enumerate(events)]
    first_delta = next((n for n, event in enumerate(events) if event["type"].endswith(".delta")), 0)
    return StreamReply(named_frames(numbered), head=first_delta + 1)


def _item_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    where = {"item_id": item["id"], "output_index": index}
    if item["type"] == "function_call":
        added = item | {"arguments": "", "status": "in_progress"}
        deltas = [{"type": "response.function_call_arguments.delta", **where, "delta": piece}
                  for piece in json_pieces(item["arguments"])]  # fmt: skip
        done = {"type": "response.function_call_arguments.done", **where, "arguments": item["arguments"]}
        return [_added(index, added), *deltas, done, _done(index, item)]
    if item["type"] == "reasoning":
        text = item["summary"][0]["text"]
        summary = {**where, "summary_index": 0}
        return [
            _added(index, item | {"summary": []}),
            {"type": "response.reasoning_summary_part.added", **summary, "part": {"type": "summary_text", "text": ""}},
            *({"type": "response.reasoning_summary_text.delta", **summary, "delta": piece}
              for piece in word_pieces(text)),
            {"type": "response.reasoning_summary_text.done", **summary, "text": text},
            {"type": "response.reasoning_summary_part.done", **summary, "part": {"type": "summary_text", "text": text}},
            _done(index, item),
        ]
    part = item["content"][0]
    content = {**where, "content_index": 0}
    return [
        _added(index, item | {"status": "in_progress", "content": []}),
        {"type": "response.content_part.added", **content, "part": part | {"text": ""}},
        *({"type": "response.output_text.delta", **content, "delta": piece, "logprobs": []}
          for piece in word_pieces(part["text"])),
        {"type": "response.output_text.done", **content, "text": part["text"], "logprobs": []},
        {"type": "response.content_part.done", **content, "part": part},
        _done(index, item),
    ]  # fmt: skip


def _added(index: int, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.output_item.added", "output_index": index, "item": item}


def _done(index: int, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.output_item.done", "output_index": index, "item": item}
