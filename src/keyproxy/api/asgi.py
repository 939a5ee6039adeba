"""The three ASGI types and the few raw helpers the routes need; no framework on the hot path."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import msgspec

from keyproxy.errors import InvalidRequest, KeyproxyError, PayloadTooLarge

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON = b"application/json"

DISCONNECT = "keyproxy.disconnect"
"""The scope extension `keyproxy serve`'s server adds (cli/http_protocol.py): `{"hook": DisconnectHook}`."""


class DisconnectHook:
    """`callback`, while set, is called when the client's connection is lost before its answer ended, so no
    task has to wait on `receive` to learn it."""

    __slots__ = ("callback",)

    def __init__(self) -> None:
        self.callback: Callable[[], None] | None = None


def disconnect_hook(scope: Scope) -> DisconnectHook | None:
    extensions = scope.get("extensions")
    extension = extensions.get(DISCONNECT) if extensions else None
    return extension["hook"] if extension else None


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole body: the one piece it came in as it is, or its pieces joined once."""
    declared = header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is larger than the limit of {limit} bytes")
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise InvalidRequest("client disconnected while sending the body")
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body is larger than the limit of {limit} bytes")
        if not message.get("more_body", False):
            if not parts:
                return chunk
            parts.append(chunk)
            return b"".join(parts)
        parts.append(chunk)


async def send_bytes(
    send: Send, status: int, body: bytes, content_type: bytes = JSON, extra: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_json(send: Send, status: int, data: Any) -> None:
    await send_bytes(send, status, msgspec.json.encode(data))


def retry_after_header(error: KeyproxyError) -> list[tuple[bytes, bytes]]:
    seconds = getattr(error, "retry_after", None)
    if seconds is None:
        return []
    return [(b"retry-after", str(max(1, round(seconds))).encode())]
