"""FakeUpstream: an OpenAI-compatible upstream as a pure ASGI app, whose keys misbehave on command.

Also driven over HTTP from another process through the `/_fake/` routes (see `_control`).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Collection, Sequence
from typing import Any

from keyproxy.clock import Clock, SystemClock
from keyproxy.testing._asgi import (
    Headers,
    Receive,
    Scope,
    Send,
    header_map,
    json_object,
    read_body,
    send_body,
    send_json,
)
from keyproxy.testing._chat import chat_reply
from keyproxy.testing._control import control
from keyproxy.testing._delivery import Cut, JsonReply, Reply, deliver
from keyproxy.testing._embeddings import embeddings_reply
from keyproxy.testing._hang import HangRelease, hang
from keyproxy.testing.faults import Fault, FaultBoard, FaultKind
from keyproxy.testing.journal import Journal, KeyStats, ReceivedRequest
from keyproxy.testing.responses import FAULT_ERRORS, MISSING_KEY, error_body, invalid_request, model_list

DEFAULT_MODELS = ("fake-chat", "fake-chat-large", "fake-embed")

_Handler = Callable[[dict[str, Any]], Reply]

_CUTS: dict[FaultKind, Cut] = {
    FaultKind.CUT_BEFORE_FIRST_CHUNK: "before_first_chunk",
    FaultKind.CUT_AFTER_FIRST_CHUNK: "after_first_chunk",
}


class FakeUpstream:
    """Answers deterministically unless a fault is armed for the request's key.

    `keys`, when given, are the only keys accepted (others get 401); `clock` sets `created`.
    """

    def __init__(
        self,
        *,
        keys: Collection[str] | None = None,
        models: Sequence[str] = DEFAULT_MODELS,
        prefix: str = "/v1",
        clock: Clock | None = None,
        history: int = 1000,
    ) -> None:
        self._keys = None if keys is None else frozenset(keys)
        self._models = tuple(models)
        self._clock = clock or SystemClock()
        self._faults = FaultBoard()
        self._journal = Journal(history)
        self._serial = itertools.count(1)
        self._hangs = HangRelease()
        self._routes: dict[tuple[str, str], _Handler] = {
            ("POST", f"{prefix}/chat/completions"): self._chat,
            ("POST", f"{prefix}/embeddings"): embeddings_reply,
            ("GET", f"{prefix}/models"): self._model_list,
        }

    def set_fault(self, key: str, fault: Fault) -> None:
        self._faults.set(key, fault)

    def clear_faults(self) -> None:
        self._faults.clear()

    def reset(self) -> None:
        """Clear faults, stats and recorded requests, so one upstream can serve many tests."""
        self._faults.clear()
        self._journal.reset()

    @property
    def requests(self) -> list[ReceivedRequest]:
        """The most recent requests to the API routes, oldest first."""
        return self._journal.requests

    @property
    def stats(self) -> dict[str, KeyStats]:
        return self._journal.stats()

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        """Block until `count` API requests have arrived (since the last reset); False on timeout."""
        return self._journal.wait_for(count, timeout)

    def release_hangs(self) -> None:
        """Answer every hanging request with 503 now; safe from any thread."""
        self._hangs.release()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._hangs.release()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        if path.startswith("/_fake/"):
            await control(self, method, path, receive, send)
            return
        handler = self._routes.get((method, path))
        if handler is None:
            await send_json(send, 404, error_body(f"Unknown request URL: {method} {path}.", "invalid_request_error"))
            return

        raw = await read_body(receive)
        body = json_object(raw) if raw else {}
        fields = body or {}
        headers = header_map(scope)
        key = _bearer(headers.get("authorization", ""))
        self._journal.record(ReceivedRequest(method, path, key, fields, headers))
        send = self._journal.counting(key, send)
        model = str(fields.get("model", "unknown"))
        if key is None:
            await send_json(send, MISSING_KEY.status, MISSING_KEY.body(key="", model=model))
            return
        if self._keys is not None and key not in self._keys:
            rejected = FAULT_ERRORS[FaultKind.UNAUTHORIZED]
            await send_json(send, rejected.status, rejected.body(key=key, model=model))
            return

        fault = self._faults.take(key)
        if fault is None:
            await deliver(send, self._reply(handler, body))
            return
        if fault.delay:
            await asyncio.sleep(fault.delay)
        error = FAULT_ERRORS.get(fault.kind)
        if error is not None:
            await send_json(send, error.status, error.body(key=key, model=model), _retry_headers(fault))
        elif fault.kind is FaultKind.HANG:
            await hang(receive, send, self._hangs)
        elif fault.kind is FaultKind.GARBAGE:
            await send_body(send, 200, b"not json at all <html>", b"application/json")
        elif fault.kind is FaultKind.EMPTY:
            await send_body(send, 200, b"", b"application/json")
        else:
            pace = fault.delay if fault.kind is FaultKind.SLOW else 0.0
            await deliver(send, self._reply(handler, body), pace=pace, cut=_CUTS.get(fault.kind))

    @staticmethod
    def _reply(handler: _Handler, body: dict[str, Any] | None) -> Reply:
        if body is None:
            return JsonReply(400, invalid_request("We could not parse the JSON body of your request."))
        return handler(body)

    def _chat(self, body: dict[str, Any]) -> Reply:
        return chat_reply(body, serial=next(self._serial), created=int(self._clock.now()))

    def _model_list(self, body: dict[str, Any]) -> Reply:
        return JsonReply(200, model_list(self._models, int(self._clock.now())))


def _bearer(authorization: str) -> str | None:
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _retry_headers(fault: Fault) -> Headers:
    headers = []
    if fault.retry_after is not None:
        headers.append((b"retry-after", f"{fault.retry_after:g}".encode()))
    if fault.retry_after_ms is not None:
        headers.append((b"retry-after-ms", str(fault.retry_after_ms).encode()))
    return headers
