"""JSON reading every adapter shares: an upstream's answer, and the error object inside an error body."""

from __future__ import annotations

from typing import Any

import msgspec

from keyproxy.errors import InvalidUpstreamResponse


def load_answer(body: bytes) -> Any:
    """A 2xx body as JSON; an empty or non-JSON body is an invalid answer (the key gets a transient verdict)."""
    if not body:
        raise InvalidUpstreamResponse("upstream sent an empty body")
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise InvalidUpstreamResponse("upstream sent a body that is not JSON") from exc


def error_object(body: bytes) -> dict[str, Any]:
    """The `error` object of an error body, or {} when there is none; some servers wrap it in a list."""
    try:
        data = msgspec.json.decode(body) if body else None
    except msgspec.DecodeError:
        return {}
    if isinstance(data, list) and data:
        data = data[0]
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def error_message(error: dict[str, Any], status: int) -> str:
    message = error.get("message")
    return message if isinstance(message, str) and message else f"upstream answered HTTP {status}"
