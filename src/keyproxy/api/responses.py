"""POST /v1/responses, GET and DELETE /v1/responses/{id}: OpenAI's Responses API in front of every provider.

A provider whose upstream serves the Responses API itself (`responses: native`) gets the client's bytes
with only the model name changed, and keeps what it answers; every other target gets the request
translated to chat completions (then on to Messages or generateContent), and keyproxy keeps the answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from keyproxy.api.asgi import JSON, Receive, Scope, Send, read_body, send_bytes, send_json
from keyproxy.api.chat import served_by
from keyproxy.api.responses_dialect import RESPONSES
from keyproxy.api.responses_plan import Plan, plan_calls
from keyproxy.api.route import Route, RouteTable, request_record
from keyproxy.api.stored_responses import Stored, StoredResponses
from keyproxy.api.streaming import DisconnectGuard, relay_stream
from keyproxy.api.targets import Resolver, read_envelope
from keyproxy.clock import Clock
from keyproxy.config.settings import Settings
from keyproxy.engine.router import Call, Opened, Router
from keyproxy.errors import InvalidRequest, NotFound, ResponseNotFound, UpstreamClientError
from keyproxy.providers import Method
from keyproxy.state.base import StateStore
from keyproxy.translate.malformed import UNREADABLE, decode_answer
from keyproxy.translate.responses_mapping import response_object
from keyproxy.translate.responses_request import input_items
from keyproxy.translate.responses_response import chat_to_response
from keyproxy.translate.responses_stream import ChatToResponsesStream
from keyproxy.translate.responses_watch import ResponsesStreamWatch

_ONE = "/responses/"


class _Extra(msgspec.Struct):
    store: Any = None
    previous_response_id: Any = None


_extra = msgspec.json.Decoder(_Extra)


class ResponsesRoutes:
    """The Responses API's routes, in its dialect; responses are kept in the state store (docs/state.md)."""

    def __init__(self, settings: Settings, router: Router, resolver: Resolver, store: StateStore, clock: Clock) -> None:
        self.settings = settings
        self.router = router
        self.resolver = resolver
        self.clock = clock
        self.stored = StoredResponses(store, clock, settings.state.responses_retention_days)

    def routes(self) -> RouteTable:
        return {
            ("POST", "/v1/responses"): Route(self.create, RESPONSES),
            ("GET", "/v1/responses/"): Route(self.retrieve, RESPONSES, prefix=True),
            ("DELETE", "/v1/responses/"): Route(self.delete, RESPONSES, prefix=True),
        }

    async def create(self, scope: Scope, receive: Receive, send: Send) -> None:
        record = request_record(scope)
        raw = await read_body(scope, receive, self.settings.max_body_bytes)
        envelope, model = read_envelope(raw)
        record.model = model
        try:
            extra = _extra.decode(raw)
        except UNREADABLE:
            raise InvalidRequest("request body is not valid JSON") from None
        previous = extra.previous_response_id
        if previous is not None and (not isinstance(previous, str) or not previous):
            raise InvalidRequest('"previous_response_id" must be a response id')
        keep = extra.store is not False and self.stored.enabled
        answer = AsResponse(f"resp_{uuid.uuid4().hex}", int(self.clock.now()), keep)
        plan = await plan_calls(self.resolver, self.router, self.stored, raw, model, previous,
                                stream=envelope.stream is True, reply=answer.start)
        guard = DisconnectGuard(scope, receive)

        async def work() -> None:
            opened = await self.router.open_chain(plan.calls, on_context_length=plan.on_context_length)
            headers = served_by(opened, record)
            if opened.endpoint == "responses":
                await self._native(send, opened, guard, headers, plan, keep=keep)
            else:
                await self._translated(send, opened, guard, headers, plan, answer)

        await guard.run(work)

    async def retrieve(self, scope: Scope, receive: Receive, send: Send) -> None:
        response_id, stored = await self._find(scope)
        if not stored.upstream:
            await send_json(send, 200, stored.response)
            return
        opened = await self.router.open(self._held(stored, response_id, "GET"))
        await send_bytes(send, opened.status, opened.body, JSON)

    async def delete(self, scope: Scope, receive: Receive, send: Send) -> None:
        response_id, stored = await self._find(scope)
        if stored.upstream:
            try:
                opened = await self.router.open(self._held(stored, response_id, "DELETE"))
            except UpstreamClientError as error:
                if error.upstream_status == 404:
                    # Gone upstream already (deleted there, or expired): nothing left to point at.
                    await self.stored.delete(response_id)
                raise
            await self.stored.delete(response_id)
            await send_bytes(send, opened.status, opened.body, JSON)
            return
        await self.stored.delete(response_id)
        await send_json(send, 200, {"id": response_id, "object": "response", "deleted": True})

    async def _find(self, scope: Scope) -> tuple[str, Stored]:
        response_id: str = scope["path"].partition(_ONE)[2]
        if "/" in response_id:
            raise NotFound(f"no route for {scope['method']} {scope['path']}")
        stored = await self.stored.get(response_id)
        if stored is None:
            raise ResponseNotFound(response_id)
        return response_id, stored

    def _held(self, stored: Stored, response_id: str, method: Method) -> Call:
        """A call to the upstream that holds the response, with the key that made it."""
        assert stored.key_id is not None
        if not self.router.has_key(stored.provider, stored.key_id):
            raise ResponseNotFound(response_id)
        return Call(stored.provider, stored.model, "responses", b"", method=method, resource=response_id,
                    key_id=stored.key_id)  # fmt: skip

    async def _native(
        self, send: Send, opened: Opened, guard: DisconnectGuard, headers: list[tuple[bytes, bytes]], plan: Plan,
        *, keep: bool,
    ) -> None:  # fmt: skip
        # The upstream keeps the response; keyproxy only remembers whose key can read it.
        pin = Stored(opened.provider, plan.model_of(opened.provider), key_id=opened.key_id)
        if opened.streaming:
            watch = ResponsesStreamWatch()
            if keep:
                send = _before(send, lambda: watch.response_id is not None,
                               lambda: self.stored.put(str(watch.response_id), pin))  # fmt: skip
            await relay_stream(send, opened, guard, RESPONSES, headers, watch, end=watch)
            return
        response_id = _response_id(opened.body)
        if keep and response_id is not None:
            await self.stored.put(response_id, pin)
        guard.responded = True
        await send_bytes(send, opened.status, opened.body, JSON, headers)

    async def _translated(
        self, send: Send, opened: Opened, guard: DisconnectGuard, headers: list[tuple[bytes, bytes]], plan: Plan,
        answer: AsResponse,
    ) -> None:  # fmt: skip
        """The chat answer, already a response: the call's reply translated it within the attempt."""

        async def save(response: dict[str, Any]) -> None:
            record = Stored(opened.provider, plan.model_of(opened.provider), previous=plan.previous,
                            input=input_items(plan.request), response=response)  # fmt: skip
            await self.stored.put(answer.response_id, record)

        if opened.streaming:
            translator = answer.translator
            assert translator is not None
            if answer.keep:
                send = _before(send, lambda: translator.complete, lambda: save(translator.response))
            await relay_stream(send, opened, guard, RESPONSES, headers, end=translator)
            return
        assert answer.response is not None
        if answer.keep:
            await save(answer.response)
        guard.responded = True
        await send_bytes(send, opened.status, opened.body, JSON, headers)


class AsResponse:
    """A chat answer as a Responses API response (providers.Reply), made within the attempt; it keeps what
    it made last, which is what the client gets and what is stored."""

    __slots__ = ("base", "created_at", "keep", "response", "response_id", "translator")

    def __init__(self, response_id: str, created_at: int, keep: bool) -> None:
        self.response_id = response_id
        self.created_at = created_at
        self.keep = keep
        self.base: dict[str, Any] = {}
        self.response: dict[str, Any] | None = None
        self.translator: ChatToResponsesStream | None = None

    def start(self, plan: Plan) -> AsResponse:
        """The response object before output, echoing the request as OpenAI does."""
        self.base = response_object(plan.request, response_id=self.response_id, model=plan.client_model,
                                    created_at=self.created_at)  # fmt: skip
        self.base["store"] = self.keep
        return self

    def body(self, body: bytes) -> bytes:
        self.response = chat_to_response(decode_answer(body), self.base)
        return msgspec.json.encode(self.response)

    def stream(self) -> ChatToResponsesStream:
        self.translator = ChatToResponsesStream(self.base)
        return self.translator


class _Id(msgspec.Struct):
    id: Any = None


_id = msgspec.json.Decoder(_Id)


def _response_id(body: bytes) -> str | None:
    try:
        found = _id.decode(body).id
    except msgspec.DecodeError:
        return None
    return found if isinstance(found, str) else None


def _before(send: Send, ready: Callable[[], bool], action: Callable[[], Awaitable[None]]) -> Send:
    """`send` that runs `action` once, as soon as `ready()`, before passing the message on: a response is
    kept before its client can see it end and ask for it."""
    done = False

    async def wrapped(message: Any) -> None:
        nonlocal done
        if not done and ready():
            done = True
            await action()
        await send(message)

    return wrapped
