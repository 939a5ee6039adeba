"""OpenAI's dialect: `{"error": {"message", "type", "code"}}`, and streams that end with `data: [DONE]`."""

from __future__ import annotations

import msgspec

from keyproxy.api.dialect import Dialect
from keyproxy.errors import KeyproxyError


class OpenAIDialect(Dialect):
    name = "openai"
    end_marker = b"[DONE]"

    def error_body(self, error: KeyproxyError, status: int) -> bytes:
        return msgspec.json.encode({"error": {"message": error.message, "type": error.error_type, "code": error.code}})

    def is_own_error(self, body: bytes) -> bool:
        """OpenAI's shape exactly: a string `message` and `type`, and a string `code` or none. Anthropic's
        `{"type": "error", "error": {...}}` and Google's numeric `code` are not, and are rebuilt instead."""
        try:
            data = msgspec.json.decode(body)
        except msgspec.DecodeError:
            return False
        error = data.get("error") if isinstance(data, dict) and data.get("type") != "error" else None
        return (
            isinstance(error, dict)
            and isinstance(error.get("message"), str)
            and isinstance(error.get("type"), str)
            and isinstance(error.get("code"), str | None)
        )

    def error_event(self, error: KeyproxyError) -> bytes:
        return b"data: " + self.error_body(error, error.status) + b"\n\n"


OPENAI = OpenAIDialect()
