"""POST /v1/messages and /v1/messages/count_tokens: Anthropic's API in front of every provider.

A target that speaks Anthropic gets the client's bytes (only the model name changes); any other
target gets the request translated to OpenAI's format, and its answer translated back.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import msgspec

from keyproxy.api.anthropic_errors import anthropic_error_event
from keyproxy.api.asgi import JSON, Receive, Scope, Send, header, read_body, send_bytes, send_json
from keyproxy.api.chat import served_by
from keyproxy.api.streaming import ClientStream, DisconnectGuard, relay_stream
from keyproxy.config.filters import model_allowed
from keyproxy.config.settings import Settings
from keyproxy.engine.router import Call, Router
from keyproxy.errors import InvalidRequest, ModelNotFound
from keyproxy.translate.anthropic_inbound_request import messages_to_chat
from keyproxy.translate.anthropic_inbound_response import chat_response_to_messages
from keyproxy.translate.anthropic_inbound_stream import ChatToMessagesStream
from keyproxy.translate.rewrite import with_model

# Anthropic's own streams fill long silences with ping events, and its clients expect those.
ANTHROPIC_STREAM = ClientStream(b"message_stop", anthropic_error_event, b'event: ping\ndata: {"type": "ping"}\n\n')
_FORWARDED = (b"anthropic-beta", b"anthropic-version")


class _Envelope(msgspec.Struct):
    model: Any = None
    stream: Any = None


_ENVELOPE = msgspec.json.Decoder(_Envelope)


class MessagesRoutes:
    def __init__(self, settings: Settings, router: Router) -> None:
        self.settings = settings
        self.router = router

    async def messages(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        raw = await read_body(scope, receive, self.settings.max_body_bytes)
        model, stream = _envelope(raw)
        calls, on_context_length = self._calls(scope, raw, model, stream)
        guard = DisconnectGuard(receive)

        async def work() -> None:
            opened = await self.router.open_chain(calls, on_context_length=on_context_length)
            headers = served_by(opened, started)
            native = opened.endpoint == "messages"
            if opened.chunks is not None:
                translator = None if native else ChatToMessagesStream(model, f"msg_{uuid.uuid4().hex[:24]}")
                await relay_stream(send, opened, guard, headers, ANTHROPIC_STREAM, translator)
                return
            body = opened.body
            if not native:
                body = msgspec.json.encode(chat_response_to_messages(msgspec.json.decode(body), model=model))
            guard.responded = True
            await send_bytes(send, opened.status, body, JSON, headers)

        await guard.run(work)

    async def count_tokens(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Exact from an Anthropic target (its own count endpoint); elsewhere an estimate of 4 characters
        per token over every text in the request, since other providers offer no count for this format."""
        raw = await read_body(scope, receive, self.settings.max_body_bytes)
        model, _ = _envelope(raw)
        target = self._targets(model)[0]
        provider, _, upstream_model = target.partition("/")
        if self.settings.providers[provider].protocol == "anthropic":
            call = Call(provider, upstream_model, "count_tokens", with_model(raw, model, upstream_model),
                        headers=_forwarded(scope))  # fmt: skip
            opened = await self.router.open(call)
            await send_bytes(send, opened.status, opened.body)
            return
        await send_json(send, 200, {"input_tokens": _estimate(msgspec.json.decode(raw))})

    def _calls(self, scope: Scope, raw: bytes, model: str, stream: bool) -> tuple[list[Call], bool]:
        alias = self.settings.aliases.get(model)
        chat: dict[str, Any] | None = None
        calls = []
        for target in self._targets(model):
            provider, _, upstream_model = target.partition("/")
            if self.settings.providers[provider].protocol == "anthropic":
                body = with_model(raw, model, upstream_model)
                calls.append(Call(provider, upstream_model, "messages", body, stream, _forwarded(scope)))
                continue
            if chat is None:
                chat = messages_to_chat(msgspec.json.decode(raw))
            body = msgspec.json.encode({**chat, "model": upstream_model})
            calls.append(Call(provider, upstream_model, "chat", body, stream))
        return calls, alias is not None and alias.on_context_length

    def _targets(self, model: str) -> tuple[str, ...]:
        alias = self.settings.aliases.get(model)
        targets = alias.targets if alias is not None else (model,)
        for target in targets:
            provider_name, _, upstream_model = target.partition("/")
            provider = self.settings.providers.get(provider_name)
            if provider is None or not upstream_model:
                configured = ", ".join(sorted(self.settings.providers)) or "none"
                raise InvalidRequest(
                    f"unknown model {model!r}: use provider/model with one of: {configured}, or an alias"
                )
            if not model_allowed(upstream_model, provider.ignore_models, provider.whitelist_models):
                raise ModelNotFound(f"model {target!r} is not offered by this proxy")
        return targets


def _envelope(raw: bytes) -> tuple[str, bool]:
    try:
        envelope = _ENVELOPE.decode(raw)
    except msgspec.ValidationError:
        raise InvalidRequest("request body must be a JSON object") from None
    except msgspec.DecodeError:
        raise InvalidRequest("request body is not valid JSON") from None
    if not isinstance(envelope.model, str) or not envelope.model:
        raise InvalidRequest('"model" is required, as "provider/model" or an alias')
    return envelope.model, envelope.stream is True


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
