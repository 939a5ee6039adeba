"""JSON reading every adapter shares: an upstream's answer, the error object inside an error body, and what an
OpenAI request asks of its stream."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from keyproxy.errors import InvalidRequest, InvalidUpstreamResponse
from keyproxy.translate.malformed import UNREADABLE, decode_answer


def load_answer(body: bytes) -> Any:
    """A 2xx body as JSON; an empty or non-JSON body is an invalid answer (the key gets a transient verdict)."""
    if not body:
        raise InvalidUpstreamResponse("upstream sent an empty body")
    return decode_answer(body)


def error_object(body: bytes) -> dict[str, Any]:
    """The `error` object of an error body, or {} when there is none; some servers wrap it in a list, and some
    (vLLM, Mistral) put its fields at the top level as `{"object": "error", "message", ...}`."""
    try:
        data = msgspec.json.decode(body) if body else None
    except UNREADABLE:
        return {}
    if isinstance(data, list) and data:
        data = data[0]
    if isinstance(data, dict) and data.get("object") == "error":
        return data
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


class _Streaming(msgspec.Struct):
    stream_options: Any = None


_streaming = msgspec.json.Decoder(_Streaming)


def asks_for_usage(body: bytes) -> bool:
    """Whether an OpenAI chat request asks for the stream's usage chunk (`stream_options.include_usage`)."""
    try:
        options = _streaming.decode(body).stream_options
    except UNREADABLE:
        return False
    return isinstance(options, dict) and options.get("include_usage") is True


def error_message(error: dict[str, Any], status: int) -> str:
    message = error.get("message")
    return message if isinstance(message, str) and message else f"upstream answered HTTP {status}"


_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def path_segment(value: str, what: str) -> str:
    """Client input that goes into an upstream URL, as exactly one safe path segment: a `/`, `..`, a `?` or
    `#` starting a query, a `%`, a `:` naming another action would take the key somewhere else, so such
    a value is refused before the key leaves the proxy."""
    if not _SEGMENT.fullmatch(value):
        raise InvalidRequest(f"{value!r} is not a valid {what} (letters, digits, '.', '_' and '-')")
    return value
