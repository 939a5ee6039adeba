"""FakeUpstream: an OpenAI, Anthropic and Gemini upstream in one pure ASGI app, whose keys misbehave on command.

OpenAI answers under `prefix` (chat/completions, the legacy completions, embeddings, models, and the Responses
API: POST responses, GET and DELETE responses/{id}); Anthropic at /v1/messages,
/v1/messages/count_tokens and /v1/models (which it takes over from OpenAI when the request carries
`anthropic-version`, or `x-api-key` and no `Authorization`); Gemini under /v1beta/models; Azure OpenAI
under /openai (its v1 API, and deployment URLs with an api-version). Faults, journal and stats are shared.
Also driven over HTTP from another process through the `/_fake/` routes (see `_control`).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Collection, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from keyproxy.clock import Clock, SystemClock
from keyproxy.redact import Fingerprinter
from keyproxy.testing._anthropic import count_tokens_reply, messages_reply, model_list_reply
from keyproxy.testing._anthropic_errors import ANTHROPIC
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
from keyproxy.testing._azure import PREFIX as AZURE_PREFIX
from keyproxy.testing._azure import azure_route
from keyproxy.testing._chat import chat_reply
from keyproxy.testing._completions import completions_reply
from keyproxy.testing._control import control
from keyproxy.testing._delivery import Cut, JsonReply, Reply, deliver
from keyproxy.testing._dialect import Dialect, Handler, Route, bearer
from keyproxy.testing._embeddings import embeddings_reply
from keyproxy.testing._gemini import PREFIX as GEMINI_PREFIX
from keyproxy.testing._gemini import gemini_route
from keyproxy.testing._hang import HangRelease, hang
from keyproxy.testing._responses_api import ResponsesAPI
from keyproxy.testing.faults import Fault, FaultBoard, FaultKind
from keyproxy.testing.journal import Journal, KeyStats, ReceivedRequest
from keyproxy.testing.responses import OPENAI, model_list

DEFAULT_MODELS = ("fake-chat", "fake-chat-large", "fake-embed")

_RouteTable = dict[tuple[str, str], Route]

_CUTS: dict[FaultKind, Cut] = {
    FaultKind.CUT_BEFORE_FIRST_CHUNK: "before_first_chunk",
    FaultKind.CUT_AFTER_FIRST_CHUNK: "after_first_chunk",
}

_REJECTED = Fault(FaultKind.UNAUTHORIZED)


class FakeUpstream:
    """Answers deterministically unless a fault is armed for the request's key.

    `keys`, when given, are the only keys accepted (others get each protocol's bad-key error);
    `clock` sets `created`. `fingerprints` name the keys in `GET /_fake/stats`.
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
        self.fingerprints = Fingerprinter.random()
        self._models = tuple(models)
        self._clock = clock or SystemClock()
        self._faults = FaultBoard()
        self._journal = Journal(history)
        self._serial = itertools.count(1)
        self._hangs = HangRelease()
        self._responses_path = f"{prefix}/responses"
        self._responses = ResponsesAPI(self._serial, lambda: int(self._clock.now()))
        self._openai: _RouteTable = {
            ("POST", f"{prefix}/chat/completions"): Route(OPENAI, self._chat),
            ("POST", f"{prefix}/completions"): Route(OPENAI, self._completions),
            ("POST", f"{prefix}/embeddings"): Route(OPENAI, embeddings_reply),
            ("GET", f"{prefix}/models"): Route(OPENAI, self._model_list),
        }
        self._azure: dict[str, Handler] = {
            "chat/completions": self._chat, "completions": self._completions, "embeddings": embeddings_reply,
            "models": self._model_list,
        }  # fmt: skip
        self._anthropic: _RouteTable = {
            ("POST", "/v1/messages"): Route(ANTHROPIC, self._messages),
            ("POST", "/v1/messages/count_tokens"): Route(ANTHROPIC, count_tokens_reply),
            ("GET", "/v1/models"): Route(ANTHROPIC, self._anthropic_models),
        }

    def set_fault(self, key: str, fault: Fault) -> None:
        self._faults.set(key, fault)

    def clear_faults(self) -> None:
        self._faults.clear()

    def reset(self) -> None:
        """Clear faults, stats, recorded requests and stored responses, and release hanging requests, so one
        upstream can serve many tests."""
        self._faults.clear()
        self._journal.reset()
        self._responses.reset()
        self._hangs.release()

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
        headers = header_map(scope)
        raw_query: bytes = scope.get("query_string", b"")
        query = dict(parse_qsl(raw_query.decode("latin-1"))) if raw_query else {}
        route = self._route(method, path, headers, query)
        dialect, handler = route.dialect, route.handler
        if handler is None:
            await deliver(send, dialect.error(404, f"Unknown request URL: {method} {path}."))
            return

        raw = await read_body(receive)
        body = json_object(raw) if raw else {}
        fields = body or {}
        key = dialect.key(headers, query)
        self._journal.record(ReceivedRequest(method, path, key, fields, headers, query))
        send = self._journal.counting(key, send)
        model = route.model or str(fields.get("model", "unknown"))
        if key is None:
            await deliver(send, dialect.missing_key())
            return
        refused = dialect.refusal(headers) or self._rejected(dialect, key, model)
        if refused is not None:
            await deliver(send, refused)
            return

        fault = self._faults.take(key)
        if fault is None:
            await deliver(send, _reply(dialect, handler, body))
            return
        if fault.delay:
            await asyncio.sleep(fault.delay)
        error = dialect.fault(fault, key=key, model=model)
        if error is not None:
            await send_json(send, error.status, error.payload, (*error.headers, *_retry_headers(fault)))
        elif fault.kind is FaultKind.HANG:
            await hang(receive, send, self._hangs, dialect.error(503, "The fake upstream is shutting down."))
        elif fault.kind is FaultKind.GARBAGE:
            await send_body(send, 200, b"not json at all <html>", b"application/json")
        elif fault.kind is FaultKind.EMPTY:
            await send_body(send, 200, b"", b"application/json")
        else:
            pace = fault.delay if fault.kind is FaultKind.SLOW else 0.0
            await deliver(send, _reply(dialect, handler, body), pace=pace, cut=_CUTS.get(fault.kind))

    def _route(self, method: str, path: str, headers: Mapping[str, str], query: Mapping[str, str]) -> Route:
        if path.startswith(GEMINI_PREFIX):
            return gemini_route(method, path, query, self._models)
        if path == self._responses_path or path.startswith(self._responses_path + "/"):
            rest = path[len(self._responses_path) + 1 :]
            return Route(OPENAI, self._responses.handler(method, rest, bearer(headers)))
        if path.startswith(AZURE_PREFIX) and (method, path) not in self._openai:
            # Unless the OpenAI prefix is Azure-like itself (Groq's is /openai/v1).
            return azure_route(method, path, query, self._models, self._azure)
        # Anthropic and OpenAI may share a path (/v1/models): a version header or a key in x-api-key
        # (without Authorization) makes the request Anthropic's.
        anthropic = "anthropic-version" in headers or ("x-api-key" in headers and "authorization" not in headers)
        first, second = (self._anthropic, self._openai) if anthropic else (self._openai, self._anthropic)
        found = first.get((method, path)) or second.get((method, path))
        return found or Route(ANTHROPIC if anthropic else OPENAI, None)

    def _rejected(self, dialect: Dialect, key: str, model: str) -> JsonReply | None:
        if self._keys is None or key in self._keys:
            return None
        return dialect.fault(_REJECTED, key=key, model=model)

    def _chat(self, body: dict[str, Any]) -> Reply:
        return chat_reply(body, serial=next(self._serial), created=int(self._clock.now()))

    def _completions(self, body: dict[str, Any]) -> Reply:
        return completions_reply(body, serial=next(self._serial), created=int(self._clock.now()))

    def _messages(self, body: dict[str, Any]) -> Reply:
        return messages_reply(body, serial=next(self._serial))

    def _model_list(self, body: dict[str, Any]) -> Reply:
        return JsonReply(200, model_list(self._models, int(self._clock.now())))

    def _anthropic_models(self, body: dict[str, Any]) -> Reply:
        return model_list_reply(self._models, self._clock.now())


def _reply(dialect: Dialect, handler: Handler, body: dict[str, Any] | None) -> Reply:
    if body is None:
        return dialect.error(400, "We could not parse the JSON body of your request.")
    return handler(body)


def _retry_headers(fault: Fault) -> Headers:
    headers = []
    if fault.retry_after is not None:
        headers.append((b"retry-after", f"{fault.retry_after:g}".encode()))
    if fault.retry_after_ms is not None:
        headers.append((b"retry-after-ms", str(fault.retry_after_ms).encode()))
    return headers
