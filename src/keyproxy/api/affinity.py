"""Which conversation a request continues, so balanced rotation can keep it on the key whose prompt cache
holds it (engine/router.py, `KEYPROXY_AFFINITY`).

An id the client gives wins: the `x-session-id` or `x-conversation-id` header, then OpenAI's
`prompt_cache_key` and `user`, Anthropic's `metadata.user_id` (Claude Code puts its session there). Else a
request with history is known by its stable prefix: the system prompt, the first user turn and the first
answer, which differs between two conversations that happened to open alike. A first turn has no
conversation yet: it goes where load sends it. Only a digest is kept, never the text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from keyproxy.api.asgi import Scope, header
from keyproxy.api.targets import ChatEnvelope, MessagesEnvelope

_HEADERS = (b"x-session-id", b"x-conversation-id")
_SYSTEM = frozenset({"system", "developer"})


def chat_conversation(scope: Scope, envelope: ChatEnvelope) -> str | None:
    given = _given(scope) or _text(envelope.prompt_cache_key) or _text(envelope.user)
    if given is not None:
        return _digest(b"id", given.encode())
    return _prefix(envelope.messages, b"")


def messages_conversation(scope: Scope, envelope: MessagesEnvelope) -> str | None:
    metadata = envelope.metadata
    given = _given(scope) or _text(metadata.get("user_id") if isinstance(metadata, dict) else None)
    if given is not None:
        return _digest(b"id", given.encode())
    return _prefix(envelope.messages, bytes(envelope.system))


def _prefix(messages: Sequence[Any], system: bytes) -> str | None:
    """The digest of the system prompt, the first user turn and the first answer; None before an answer."""
    parts = [system]
    seen_user = False
    for message in messages:
        role = message.role
        if role in _SYSTEM and not seen_user:
            parts.append(bytes(message.content))
        elif role == "user" and not seen_user:
            seen_user = True
            parts.append(bytes(message.content))
        elif role == "assistant" and seen_user:
            parts.append(bytes(message.content))
            return _digest(b"prefix", *parts)
    return None


def _given(scope: Scope) -> str | None:
    for name in _HEADERS:
        value = header(scope, name)
        if value:
            return value.decode("latin-1")
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _digest(kind: bytes, *parts: bytes) -> str:
    digest = hashlib.blake2b(kind, digest_size=12)
    for part in parts:
        # Length-prefixed, so parts cannot run into each other.
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()
