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

from keyproxy.api.asgi import Scope
from keyproxy.api.targets import ChatEnvelope, MessagesEnvelope

_HEADERS = frozenset({b"x-session-id", b"x-conversation-id"})
_SYSTEM = frozenset({"system", "developer"})


def chat_conversation(scope: Scope, envelope: ChatEnvelope) -> str | None:
    given = _given(scope, (envelope.prompt_cache_key, envelope.user))
    if given is not None:
        return _digest(b"id", given)
    # History means at least a user turn, its answer and the next turn; a first turn stops here.
    return _prefix(envelope.messages, b"") if len(envelope.messages) > 2 else None


def messages_conversation(scope: Scope, envelope: MessagesEnvelope) -> str | None:
    metadata = envelope.metadata
    given = _given(scope, (metadata.get("user_id") if isinstance(metadata, dict) else None,))
    if given is not None:
        return _digest(b"id", given)
    return _prefix(envelope.messages, bytes(envelope.system)) if len(envelope.messages) > 2 else None


def _prefix(messages: Sequence[Any], system: bytes) -> str | None:
    """The digest of the system prompt, the first user turn and the first answer; None before an answer.
    A first turn, the common case, costs one pass over the roles and no copy."""
    first_user = None
    for index, message in enumerate(messages):
        role = message.role
        if role == "user":
            if first_user is None:
                first_user = index
        elif role == "assistant" and first_user is not None:
            opening = [bytes(earlier.content) for earlier in messages[:first_user] if earlier.role in _SYSTEM]
            return _digest(b"prefix", system, *opening, bytes(messages[first_user].content), bytes(message.content))
    return None


def _given(scope: Scope, fields: tuple[object, ...]) -> bytes | None:
    """The client's own id for the conversation: a header, else the first of `fields` that is a string."""
    for name, value in scope["headers"]:
        if name in _HEADERS and value:
            return value  # type: ignore[no-any-return]
    for field in fields:
        if isinstance(field, str) and field:
            return field.encode()
    return None


def _digest(kind: bytes, *parts: bytes) -> str:
    digest = hashlib.blake2b(kind, digest_size=12)
    for part in parts:
        # Length-prefixed, so parts cannot run into each other.
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()
