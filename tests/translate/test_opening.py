"""Whether a stream's answer has begun, in each dialect keyproxy relays: only what is surely reasoning or an
opening without content comes before it."""

from __future__ import annotations

import json

import pytest

from keyproxy.translate.opening import Opening, before_answer
from keyproxy.translate.sse import Event


def event(data: object, name: str = "message") -> Event:
    return Event(name, data if isinstance(data, str) else json.dumps(data))


def chat(delta: dict[str, object], finish: str | None = None) -> Event:
    return event(
        {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    )


@pytest.mark.parametrize(
    "data",
    [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
        {"choices": [{"index": 0, "delta": {"reasoning_content": "hmm"}}]},
        {"choices": [{"index": 0, "delta": {"reasoning": "hmm", "content": "\n"}}]},
        {"choices": [{"index": 0, "delta": {"thinking": "hmm"}}]},
        {"type": "message_start", "message": {"content": []}},
        {"type": "ping"},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hmm"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "s"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "response.created", "response": {}},
        {"type": "response.output_item.added", "item": {"type": "reasoning"}},
        {"type": "response.reasoning_summary_text.delta", "delta": "hmm"},
    ],
)
def test_reasoning_and_openings_come_before_the_answer(data: dict[str, object]) -> None:
    assert before_answer(event(data))


@pytest.mark.parametrize(
    "data",
    [
        "[DONE]",
        "not json",
        {"choices": [{"index": 0, "delta": {"content": "4"}}]},
        {"choices": [{"index": 0, "text": "4"}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "c"}]}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"error": {"message": "overloaded"}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "4"}},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "t"}},
        {"type": "message_stop"},
        {"type": "error", "error": {"type": "overloaded_error"}},
        {"type": "response.output_text.delta", "delta": "4"},
        {"type": "response.completed", "response": {}},
        {"type": "something_new"},
    ],
)
def test_content_ends_and_anything_unknown_count_as_the_answer(data: object) -> None:
    assert not before_answer(event(data))


def test_the_answer_is_found_in_an_event_split_across_pieces() -> None:
    opening = Opening()
    assert not opening.feed(b'data: {"choices":[{"index":0,"delta":{"reasoning_content":"a"}}]}\n\ndata: {"choi')
    assert opening.feed(b'ces":[{"index":0,"delta":{"content":"b"}}]}\n\n')
    assert opening.answered
