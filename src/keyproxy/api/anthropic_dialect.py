"""Anthropic's dialect: `{"type": "error", "error": {"type", "message"}}` typed by status, streams that end
with `message_stop`, and `ping` events in silences (its clients expect those)."""

from __future__ import annotations

import msgspec

from keyproxy.api.dialect import Dialect
from keyproxy.errors import KeyproxyError
from keyproxy.translate.anthropic_errors import type_for_status


class AnthropicDialect(Dialect):
    name = "anthropic"
    end_marker = b"message_stop"
    keepalive = b'event: ping\ndata: {"type": "ping"}\n\n'

    def error_body(self, error: KeyproxyError, status: int) -> bytes:
        shown = {"type": type_for_status(status), "message": error.message}
        return msgspec.json.encode({"type": "error", "error": shown})

    def is_own_error(self, body: bytes) -> bool:
        try:
            data = msgspec.json.decode(body)
        except msgspec.DecodeError:
            return False
        return isinstance(data, dict) and data.get("type") == "error" and isinstance(data.get("error"), dict)

    def error_event(self, error: KeyproxyError) -> bytes:
        return b"event: error\ndata: " + self.error_body(error, error.status) + b"\n\n"


ANTHROPIC = AnthropicDialect()
