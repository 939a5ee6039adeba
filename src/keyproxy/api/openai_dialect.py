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
        try:
            data = msgspec.json.decode(body)
        except msgspec.DecodeError:
            return False
        return isinstance(data, dict) and isinstance(data.get("error"), dict)

    def error_event(self, error: KeyproxyError) -> bytes:
        return b"data: " + self.error_body(error, error.status) + b"\n\n"


OPENAI = OpenAIDialect()
