"""The ASGI types the fakes speak, the few helpers that read requests and send responses, and what a client
in memory needs: a request's scope and a response's headers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any
from urllib.parse import unquote

import msgspec

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

Headers = Sequence[tuple[bytes, bytes]]


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def json_object(raw: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not one."""
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    return value if isinstance(value, dict) else None


async def until_disconnect(receive: Receive) -> None:
    """Return once the client has gone; call only after the request body has been read."""
    while (await receive())["type"] != "http.disconnect":
        pass


def header_map(scope: Scope) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}


async def start(send: Send, status: int, content_type: bytes, headers: Headers = (), length: int | None = None) -> None:
    raw = [(b"content-type", content_type), *headers]
    if length is not None:
        raw.append((b"content-length", str(length).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})


async def send_body(send: Send, status: int, body: bytes, content_type: bytes, headers: Headers = ()) -> None:
    await start(send, status, content_type, headers, len(body))
    await send({"type": "http.response.body", "body": body})


async def send_json(send: Send, status: int, payload: object, headers: Headers = ()) -> None:
    await send_body(send, status, msgspec.json.encode(payload), b"application/json", headers)


async def send_empty(send: Send, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def http_scope(
    method: str, target: str, headers: Iterable[tuple[str, str]], *, scheme: str = "http", server: tuple[str, int]
) -> Scope:
    """The scope a server builds for `method target` (a path with an optional query string)."""
    path, _, query = target.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method.upper(),
        "scheme": scheme,
        "path": unquote(path),
        "raw_path": path.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "root_path": "",
        "headers": [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers],
        "server": server,
        "client": ("127.0.0.1", 50000),
        "state": {},
    }


class ResponseHeaders(Mapping[str, str]):
    """A response's headers, looked up without regard to case; a repeated header gives its first value."""

    __slots__ = ("raw",)

    def __init__(self, raw: Iterable[tuple[bytes, bytes]]) -> None:
        self.raw = [(bytes(name).lower(), bytes(value)) for name, value in raw]

    def __getitem__(self, name: str) -> str:
        wanted = name.lower().encode("latin-1")
        for key, value in self.raw:
            if key == wanted:
                return value.decode("latin-1")
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(key.decode("latin-1") for key, _ in self.raw))

    def __len__(self) -> int:
        return len({key for key, _ in self.raw})

    def __repr__(self) -> str:
        return f"ResponseHeaders({dict(self.items())!r})"
