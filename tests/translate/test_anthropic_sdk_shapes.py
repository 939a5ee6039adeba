"""The official SDKs read what the Anthropic translators write.

The SDKs are imported inside the tests: importing them costs more than a second, which collecting the rest
of the suite should not pay.
"""

from __future__ import annotations

import json
from typing import Any

from keyproxy.translate.anthropic_inbound_response import chat_response_to_messages
from keyproxy.translate.anthropic_inbound_stream import ChatToMessagesStream
from keyproxy.translate.anthropic_response import messages_response_to_chat
from keyproxy.translate.anthropic_stream import MessagesToChatStream
from keyproxy.translate.sse import SSEParser


def data(payload: dict[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(payload)}\n\n".encode()


def anthropic_event(kind: str, **fields: Any) -> bytes:
    return data({"type": kind, **fields}, kind)


def chat_chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
    return data(
        {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [choice]}
    )


def test_every_event_translated_from_chat_chunks_is_a_valid_sdk_stream_event() -> None:
    import anthropic
    import pydantic

    stream_event = pydantic.TypeAdapter(anthropic.types.RawMessageStreamEvent)
    call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":'},
    }
    raw = (
        chat_chunk({"role": "assistant", "reasoning_content": "Let me"})
        + chat_chunk({"content": "Checking."})
        + chat_chunk({"tool_calls": [call]})
        + chat_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}, "tool_calls")
        + data(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "choices": [],
                "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
            }
        )
        + b"data: [DONE]\n\n"
    )
    events = SSEParser().feed(ChatToMessagesStream("m", "msg_1").feed(raw))
    parsed = [stream_event.validate_python(json.loads(event.data)) for event in events]
    assert [event.type for event in parsed][-2:] == ["message_delta", "message_stop"]


def test_a_message_translated_from_a_chat_completion_is_a_valid_sdk_message() -> None:
    import anthropic

    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
    message = {"role": "assistant", "content": "Checking.", "reasoning_content": "Hmm", "tool_calls": [call]}
    resp = {"id": "chatcmpl-1", "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}}  # fmt: skip
    parsed = anthropic.types.Message.model_validate(chat_response_to_messages(resp, model="m"))
    assert [block.type for block in parsed.content] == ["thinking", "text", "tool_use"]


def test_chunks_translated_from_an_anthropic_stream_accumulate_in_the_openai_sdk() -> None:
    from openai.lib.streaming.chat import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk

    start = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude", "content": [],
             "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 9, "output_tokens": 1}}  # fmt: skip
    tool = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
    raw = (
        anthropic_event("message_start", message=start)
        + anthropic_event("content_block_start", index=0, content_block={"type": "text", "text": ""})
        + anthropic_event("content_block_delta", index=0, delta={"type": "text_delta", "text": "Checking."})
        + anthropic_event("content_block_stop", index=0)
        + anthropic_event("content_block_start", index=1, content_block=tool)
        + anthropic_event(
            "content_block_delta", index=1, delta={"type": "input_json_delta", "partial_json": '{"city":'}
        )
        + anthropic_event(
            "content_block_delta", index=1, delta={"type": "input_json_delta", "partial_json": '"Paris"}'}
        )
        + anthropic_event("content_block_stop", index=1)
        + anthropic_event(
            "message_delta", delta={"stop_reason": "tool_use", "stop_sequence": None}, usage={"output_tokens": 20}
        )
        + anthropic_event("message_stop")
    )
    state: ChatCompletionStreamState[None] = ChatCompletionStreamState()
    for event in SSEParser().feed(MessagesToChatStream("claude", 1, include_usage=True).feed(raw)):
        if event.data != "[DONE]":
            state.handle_chunk(ChatCompletionChunk.model_validate(json.loads(event.data)))
    final = state.get_final_completion()
    assert final.choices[0].message.content == "Checking."
    assert [call.function.arguments for call in final.choices[0].message.tool_calls or []] == ['{"city":"Paris"}']
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.usage is not None and final.usage.total_tokens == 29


def test_a_completion_translated_from_an_anthropic_message_is_a_valid_sdk_completion() -> None:
    from openai.types.chat import ChatCompletion

    resp = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "now", "input": {}}],
            "stop_reason": "tool_use", "stop_sequence": None,
            "usage": {"input_tokens": 9, "output_tokens": 3}}  # fmt: skip
    parsed = ChatCompletion.model_validate(messages_response_to_chat(resp, model="claude", created=1))
    assert parsed.choices[0].finish_reason == "tool_calls"
