"""The Responses API's dialect: OpenAI's error body with its `param`, and streams whose end and error
event belong to the stream itself (numbered events, the whole response at the end)."""

from __future__ import annotations

import msgspec

from keyproxy.api.dialect import Dialect
from keyproxy.errors import KeyproxyError
from keyproxy.translate.responses_mapping import error_event


class ResponsesDialect(Dialect):
    """OpenAI's error body with its `param`; streams end with `response.completed` (or incomplete, or
    failed) carrying the whole response, so the relay asks the stream itself whether it ended."""

    name = "responses"
    end_marker = b"response.completed"

    def error_body(self, error: KeyproxyError, status: int) -> bytes:
        shown = {"message": error.message, "type": error.error_type, "param": error.param, "code": error.code}
        return msgspec.json.encode({"error": shown})

    def is_own_error(self, body: bytes) -> bool:
        try:
            data = msgspec.json.decode(body)
        except msgspec.DecodeError:
            return False
        return isinstance(data, dict) and isinstance(data.get("error"), dict)

    def error_event(self, error: KeyproxyError) -> bytes:
        # Only for an error the stream itself did not number (the relay asks the stream first).
        return error_event(error.code, error.message, 0)


RESPONSES = ResponsesDialect()
