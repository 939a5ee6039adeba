"""Reasoning in chat history, respelled or dropped for the provider a request goes to."""

from __future__ import annotations

from typing import Any

from keyproxy.translate.reasoning import details, for_target, thinking_blocks

DETAILS = [{"type": "reasoning.text", "text": "think", "signature": "EuYB"}]


def history(**assistant: Any) -> dict[str, Any]:
    turn = {"role": "assistant", "content": "Hello", **assistant}
    return {"model": "m", "messages": [{"role": "user", "content": "Hi"}, turn]}


def test_a_provider_that_takes_reasoning_content_gets_the_text_and_no_details() -> None:
    sent = for_target(history(reasoning_content="think", reasoning_details=DETAILS), "reasoning_content")
    assert sent["messages"][1] == {"role": "assistant", "content": "Hello", "reasoning_content": "think"}


def test_openrouter_gets_reasoning_and_the_signed_details() -> None:
    sent = for_target(history(reasoning_content="think", reasoning_details=DETAILS), "reasoning")
    assert sent["messages"][1] == {
        "role": "assistant", "content": "Hello", "reasoning": "think", "reasoning_details": DETAILS}  # fmt: skip


def test_a_provider_that_would_refuse_the_field_gets_no_reasoning_at_all() -> None:
    sent = for_target(history(reasoning="think", reasoning_details=DETAILS), None)
    assert sent["messages"][1] == {"role": "assistant", "content": "Hello"}


def test_a_chat_without_reasoning_is_returned_as_it_is() -> None:
    chat = history()
    assert for_target(chat, None) is chat


def test_the_translated_chat_is_left_untouched_for_the_next_target() -> None:
    chat = history(reasoning_content="think")
    for_target(chat, None)
    assert chat["messages"][1]["reasoning_content"] == "think"


def test_unsigned_thinking_makes_no_details_and_signed_ones_survive_the_round_trip() -> None:
    blocks = [
        {"type": "thinking", "thinking": "no signature", "signature": ""},
        {"type": "thinking", "thinking": "think", "signature": "EuYB"},
        {"type": "redacted_thinking", "data": "EmwK"},
    ]
    assert thinking_blocks({"reasoning_details": details(blocks)}) == blocks[1:]


def test_malformed_details_from_a_client_are_ignored() -> None:
    entries = ["x", {"type": "reasoning.text", "text": 5, "signature": "s"}, {"type": "reasoning.encrypted"}]
    assert thinking_blocks({"reasoning_details": entries}) == [{"type": "thinking", "thinking": "", "signature": "s"}]
