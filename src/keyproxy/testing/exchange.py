"""An ASGI app driven in memory, as a server would drive it: one request and its response, and the lifespan.

`await request(app, "POST", "/v1/chat/completions", json=...)` answers a Response with the status, the
headers and the whole body (a streamed one included). An Exchange does the same one step at a time, so a
test can wait for the first body bytes and then `disconnect()`. `async with Lifespan(app):` runs the app's
startup and shutdown around a block. No sockets; keyproxy.testing.AppClient does all this from sync code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import msgspec

from keyproxy.testing._asgi import ASGIApp, Message, ResponseHeaders, http_scope

Body = bytes | Iterable[bytes]
"""The request body: bytes are sent whole with a Content-Length; pieces are sent one by one without it,
as a chunked upload arrives."""


@dataclass(frozen=True, slots=True)
class Response:
    status_code: int
    headers: ResponseHeaders
    body: bytes
    messages: tuple[Message, ...]
    """Every message the app sent, in order."""

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return msgspec.json.decode(self.body)

    @property
    def complete(self) -> bool:
        """Whether the app ended the body; False when it stopped mid-response (after a disconnect, say)."""
        bodies = [m for m in self.messages if m["type"] == "http.response.body"]
        return bool(bodies) and not bodies[-1].get("more_body", False)


class Exchange:
    """One request to `app`. The app receives the body, then waits: `disconnect()` tells it the client has
    gone, as a server does when the connection drops. Every message the app sends is kept, even after
    the disconnect, so a test can check the app did not go on as if nothing had happened."""

    def __init__(
        self,
        app: ASGIApp,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Body = b"",
        json: object = None,
        host: str = "testserver",
    ) -> None:
        if json is not None:
            body = msgspec.json.encode(json)
            headers = {"content-type": "application/json", **(headers or {})}
        sent = dict(headers or {})
        named = {name.lower() for name in sent}
        if "host" not in named:
            sent["host"] = host
        if isinstance(body, bytes):
            if "content-length" not in named and (body or method.upper() in ("POST", "PUT", "PATCH")):
                sent["content-length"] = str(len(body))
            pieces: list[bytes] = [body]
        else:
            if "transfer-encoding" not in named:
                sent["transfer-encoding"] = "chunked"
            pieces = list(body) or [b""]
        self.app = app
        self.scope = http_scope(method, path, sent.items(), server=(host, 80))
        self.messages: list[Message] = []
        self._pieces = pieces
        self._gone = asyncio.Event()
        self._body_seen = asyncio.Event()

    def disconnect(self) -> None:
        """The client goes away: from now on `receive` answers `http.disconnect`."""
        self._gone.set()

    async def wait_for_body(self) -> None:
        """Return once the app has sent some body bytes (a streamed response's first chunk, say)."""
        await self._body_seen.wait()

    async def run(self) -> Response:
        """Call the app and return its response once it returns; its exceptions propagate."""
        await self.app(self.scope, self._receive, self._send)
        starts = [m for m in self.messages if m["type"] == "http.response.start"]
        if not starts:
            raise RuntimeError(f"{self.scope['method']} {self.scope['path']}: the app returned without a response")
        body = b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")
        return Response(starts[0]["status"], ResponseHeaders(starts[0].get("headers", ())), body, tuple(self.messages))

    async def _receive(self) -> Message:
        if self._pieces:
            piece = self._pieces.pop(0)
            return {"type": "http.request", "body": piece, "more_body": bool(self._pieces)}
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.body" and message.get("body"):
            self._body_seen.set()


async def request(
    app: ASGIApp,
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: Body = b"",
    json: object = None,
) -> Response:
    """One whole exchange with `app`: `path` may carry a query string; `json` is sent as the body."""
    return await Exchange(app, method, path, headers=headers, body=body, json=json).run()


class Lifespan:
    """The app's startup and shutdown, run as a server runs them: `async with Lifespan(app): ...`.

    A failed startup or shutdown raises RuntimeError with the app's message. An app that returns at once
    without answering does not speak the lifespan protocol; then there is nothing to run.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._outbox: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def startup(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        self._task = asyncio.ensure_future(self.app(scope, self._inbox.get, self._outbox.put))
        await self._step("startup")

    async def shutdown(self) -> None:
        if self._task is None:
            return
        try:
            await self._step("shutdown")
        finally:
            task, self._task = self._task, None
            if not task.done():
                task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _step(self, phase: str) -> None:
        assert self._task is not None
        await self._inbox.put({"type": f"lifespan.{phase}"})
        answer = asyncio.ensure_future(self._outbox.get())
        await asyncio.wait((answer, self._task), return_when=asyncio.FIRST_COMPLETED)
        if not answer.done():
            answer.cancel()
            self._task.result()  # raises what the app raised
            if phase == "startup":
                self._task = None
                return
            raise RuntimeError(f"the app returned during lifespan {phase} without answering")
        message = answer.result()
        if message["type"] == f"lifespan.{phase}.failed":
            raise RuntimeError(f"lifespan {phase} failed: {message.get('message', '')}")
        if message["type"] != f"lifespan.{phase}.complete":
            raise RuntimeError(f"unexpected lifespan message {message['type']!r}")

    async def __aenter__(self) -> Lifespan:
        await self.startup()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.shutdown()
