"""Errors as Anthropic's clients expect them: `{"type": "error", "error": {"type", "message"}}`."""

from __future__ import annotations

import msgspec

from keyproxy.api.asgi import Send, retry_after_header, send_bytes
from keyproxy.errors import KeyproxyError, UpstreamClientError

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_type(status: int) -> str:
    return _TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")


def anthropic_error_body(error: KeyproxyError, status: int | None = None) -> bytes:
    kind = error_type(status or error.status)
    return msgspec.json.encode({"type": "error", "error": {"type": kind, "message": error.message}})


def anthropic_error_event(error: KeyproxyError) -> bytes:
    return b"event: error\ndata: " + anthropic_error_body(error) + b"\n\n"


async def send_anthropic_error(send: Send, error: KeyproxyError) -> None:
    """An upstream's own client error keeps its status; its body is kept when already in Anthropic's shape."""
    status = error.status
    body = b""
    if isinstance(error, UpstreamClientError):
        status = error.upstream_status
        body = error.body if _is_anthropic_error(error.body) else b""
    await send_bytes(send, status, body or anthropic_error_body(error, status), extra=retry_after_header(error))


def _is_anthropic_error(body: bytes) -> bool:
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return False
    return isinstance(data, dict) and data.get("type") == "error" and isinstance(data.get("error"), dict)
