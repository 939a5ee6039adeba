"""POST /v1/messages and /v1/messages/count_tokens: Anthropic's API in front of every provider.

A target that speaks Anthropic gets the client's bytes (only the model name changes); any other
target gets the request translated to OpenAI's format, and its answer translated back.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from keyproxy.api.affinity import messages_conversation
from keyproxy.api.anthropic_dialect import ANTHROPIC
from keyproxy.api.asgi import JSON, Receive, Scope, Send, header, read_body, send_bytes, send_json
from keyproxy.api.chat import served_by
from keyproxy.api.route import Route, RouteTable, request_record
from keyproxy.api.streaming import DisconnectGuard, relay_stream
from keyproxy.api.targets import (
    CountTokensEnvelope,
    MessagesEnvelope,
    Resolution,
    Resolver,
    decoder,
    read_envelope,
)
from keyproxy.config.settings import Settings
from keyproxy.engine.router import Call, Router
from keyproxy.translate.anthropic_inbound_request import messages_to_chat
from keyproxy.translate.anthropic_inbound_response import chat_response_to_messages
from keyproxy.translate.anthropic_inbound_stream import ChatToMessagesStream
from keyproxy.translate.malformed import decode_answer, decode_request
from keyproxy.translate.reasoning import for_target
from keyproxy.translate.rewrite import with_model

_FORWARDED = (b"anthropic-beta", b"anthropic-version")
_MESSAGES = decoder(MessagesEnvelope)
_COUNT_TOKENS = decoder(CountTokensEnvelope)


class MessagesRoutes:
    """Anthropic's routes, in Anthropic's dialect."""

    def __init__(self, settings: Settings, router: Router, resolver: Resolver) -> None:
        self.settings = settings
        self.router = router
        self.resolver = resolver

    def routes(self) -> RouteTable:
        return {
            ("POST", "/v1/messages"): Route(self.messages, ANTHROPIC),
            ("POST", "/v1/messages/count_tokens"): Route(self.count_tokens, ANTHROPIC),
        }

    async def messages(self, scope: Scope, receive: Receive, send: Send) -> None:
        record = request_record(scope)
        raw = await read_body(scope, receive, self.settings.max_body_bytes)
        envelope, model = read_envelope(raw, _MESSAGES)
        record.model = model
        resolved = self.resolver.named(model) or await self.resolver.bare(model)
        conversation = messages_conversation(scope, envelope)
        calls, on_context_length = self._calls(scope, raw, model, envelope.stream is True, resolved, conversation)
        del raw  # the calls hold what goes upstream; the client's bytes need not live as long as the answer
        guard = DisconnectGuard(scope, receive)

        async def work() -> None:
            # A chat answer is already an Anthropic one here: the call's reply translated it within the attempt.
            opened = await self.router.open_chain(calls, on_context_length=on_context_length)
            headers = served_by(opened, record)
            if opened.streaming:
                await relay_stream(send, opened, guard, ANTHROPIC, headers)
                return
            guard.responded = True
            await send_bytes(send, opened.status, opened.body, JSON, headers)

        await guard.run(work)

    async def count_tokens(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Exact from an Anthropic target (its own count endpoint); elsewhere an estimate of 4 characters
        per token over every text in the request, since other providers offer no count for this format."""
        raw = await read_body(scope, receive, self.settings.max_body_bytes)
        _, model = read_envelope(raw, _COUNT_TOKENS)
        request_record(scope).model = model
        target = (await self.resolver.resolve(model))[0][0]
        if target.provider.protocol == "anthropic":
            body = with_model(raw, model, target.model)
            call = Call(target.provider.name, target.model, "count_tokens", body, headers=_forwarded(scope))
            opened = await self.router.open(call)
            await send_bytes(send, opened.status, opened.body)
            return
        await send_json(send, 200, {"input_tokens": _estimate(decode_request(raw))})

    def _calls(
        self, scope: Scope, raw: bytes, model: str, stream: bool, resolved: Resolution, conversation: str | None
    ) -> tuple[list[Call], bool]:
        targets, on_context_length = resolved
        chat: dict[str, Any] | None = None
        calls = []
        for target in targets:
            name = target.provider.name
            if target.provider.protocol == "anthropic":
                body = with_model(raw, model, target.model)
                calls.append(
                    Call(name, target.model, "messages", body, stream, _forwarded(scope), conversation=conversation)
                )
                continue
            if chat is None:
                chat = messages_to_chat(decode_request(raw))
            sent = for_target(chat, target.provider.reasoning_field)
            body = msgspec.json.encode({**sent, "model": target.model})
            calls.append(
                Call(name, target.model, "chat", body, stream, client_model=model, reply=AsMessage(model),
                     conversation=conversation)
            )  # fmt: skip
        return calls, on_context_length


class AsMessage:
    """A chat answer as an Anthropic message (providers.Reply), made within the attempt."""

    __slots__ = ("model",)

    def __init__(self, model: str) -> None:
        self.model = model

    def body(self, body: bytes) -> bytes:
        return msgspec.json.encode(chat_response_to_messages(decode_answer(body), model=self.model))

    def stream(self) -> ChatToMessagesStream:
        return ChatToMessagesStream(self.model, f"msg_{uuid.uuid4().hex[:24]}")


def _forwarded(scope: Scope) -> dict[str, str]:
    found = {}
    for name in _FORWARDED:
        value = header(scope, name)
        if value is not None:
            found[name.decode()] = value.decode("latin-1")
    return found


def _estimate(request: Any) -> int:
    """Characters of every text field / 4, at least 1: a documented estimate, not a tokenizer."""
    total = 0
    stack = [request]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("text", "content", "system", "description") and isinstance(value, str):
                    total += len(value)
                else:
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return max(1, total // 4)
