"""Which conversation a request continues: the client's own id, or the digest of its stable prefix."""

from __future__ import annotations

from typing import Any

import msgspec

from keyproxy.api.affinity import chat_conversation, messages_conversation
from keyproxy.api.targets import ChatEnvelope, MessagesEnvelope, decoder, read_envelope

SYSTEM = {"role": "system", "content": "You are terse."}
ASK = {"role": "user", "content": "Name a colour."}
ANSWER = {"role": "assistant", "content": "Teal."}


def scope(*headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {"headers": list(headers)}


def chat(*messages: dict[str, Any], **fields: Any) -> ChatEnvelope:
    raw = msgspec.json.encode({"model": "p/m", "messages": list(messages), **fields})
    return read_envelope(raw, decoder(ChatEnvelope))[0]


def anthropic(*messages: dict[str, Any], **fields: Any) -> MessagesEnvelope:
    raw = msgspec.json.encode({"model": "p/m", "max_tokens": 8, "messages": list(messages), **fields})
    return read_envelope(raw, decoder(MessagesEnvelope))[0]


def test_a_first_turn_has_no_conversation_yet() -> None:
    assert chat_conversation(scope(), chat(SYSTEM, ASK)) is None


def test_every_turn_of_one_conversation_has_the_same_id() -> None:
    more = {"role": "user", "content": "Another."}
    second = chat_conversation(scope(), chat(SYSTEM, ASK, ANSWER, more))
    later = [{"role": "assistant", "content": "Rust."}, {"role": "user", "content": "?"}]
    third = chat_conversation(scope(), chat(SYSTEM, ASK, ANSWER, more, *later))
    assert second is not None
    assert second == third


def test_conversations_that_opened_alike_but_were_answered_differently_are_two() -> None:
    follow = {"role": "user", "content": "Why?"}
    one = chat_conversation(scope(), chat(SYSTEM, ASK, ANSWER, follow))
    two = chat_conversation(scope(), chat(SYSTEM, ASK, {"role": "assistant", "content": "Ochre."}, follow))
    assert one != two


def test_the_clients_own_id_wins_header_first() -> None:
    envelope = chat(ASK, prompt_cache_key="cache-7", user="alice")
    by_header = chat_conversation(scope((b"x-session-id", b"s-1")), envelope)
    assert by_header == chat_conversation(scope((b"x-session-id", b"s-1")), chat(ASK))
    assert chat_conversation(scope(), envelope) == chat_conversation(scope(), chat(ASK, prompt_cache_key="cache-7"))
    assert chat_conversation(scope(), chat(ASK, user="alice")) is not None


def test_claude_codes_session_in_metadata_names_the_conversation() -> None:
    session = {"user_id": "user_ab12_account_cd34_session_ef56"}
    first = messages_conversation(scope(), anthropic(ASK, metadata=session))
    assert first is not None
    assert first == messages_conversation(scope(), anthropic(ASK, ANSWER, ASK, metadata=session))


def test_only_a_digest_is_kept_never_the_text() -> None:
    conversation = chat_conversation(scope(), chat(ASK, user="alice@example.com"))
    assert conversation is not None
    assert "alice" not in conversation
    assert len(conversation) == 24
