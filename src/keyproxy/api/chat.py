"""POST /v1/chat/completions, /v1/embeddings and the legacy /v1/completions: validate the envelope, route, relay."""

from __future__ import annotations

import time
from typing import Any

import msgspec

from keyproxy.api.affinity import chat_conversation
from keyproxy.api.asgi import JSON, Receive, Scope, Send, read_body, send_bytes
from keyproxy.api.openai_dialect import OPENAI
from keyproxy.api.route import Route, RouteTable, request_record
from keyproxy.api.streaming import DisconnectGuard, relay_stream
from keyproxy.api.targets import (
    ChatEnvelope,
    CompletionsEnvelope,
    EmbeddingsEnvelope,
    Envelope,
    Resolution,
    Resolver,
    Target,
    decoder,
    read_envelope,
)
from keyproxy.config.settings import Settings, TemperatureOverride
from keyproxy.engine.router import Call, Opened, Router
from keyproxy.errors import InvalidRequest
from keyproxy.events import RequestRecord
from keyproxy.providers import Endpoint
from keyproxy.providers.base import LEGACY_COMPLETIONS
from keyproxy.translate.rewrite import with_model

_ENVELOPES: dict[Endpoint, msgspec.json.Decoder[Any]] = {
    "chat": decoder(ChatEnvelope),
    "embeddings": decoder(EmbeddingsEnvelope),
    "completions": decoder(CompletionsEnvelope),
}


class CompletionRoutes:
    """OpenAI's own routes, in OpenAI's dialect."""

    def __init__(self, settings: Settings, router: Router, resolver: Resolver) -> None:
        self.settings = settings
        self.router = router
        self.resolver = resolver

    def routes(self) -> RouteTable:
        return {
            ("POST", "/v1/chat/completions"): Route(self.chat, OPENAI),
            ("POST", "/v1/embeddings"): Route(self.embeddings, OPENAI),
            ("POST", "/v1/completions"): Route(self.completions, OPENAI),
        }

    async def chat(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._serve("chat", scope, receive, send)

    async def embeddings(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._serve("embeddings", scope, receive, send)

    async def completions(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The legacy text completions autocomplete and fill-in-the-middle tools call: passed through to
        OpenAI-compatible providers only, since a bare prompt has no faithful Messages or Gemini form."""
        await self._serve("completions", scope, receive, send)

    async def _serve(self, endpoint: Endpoint, scope: Scope, receive: Receive, send: Send) -> None:
        record = request_record(scope)
        raw = await read_body(scope, receive, self.settings.max_body_bytes)
        envelope: Envelope
        envelope, model = read_envelope(raw, _ENVELOPES[endpoint])
        record.model = model
        resolved = self.resolver.named(model) or await self.resolver.bare(model)
        conversation = chat_conversation(scope, envelope) if isinstance(envelope, ChatEnvelope) else None
        calls, on_context_length = self._calls(endpoint, raw, envelope, model, resolved, conversation)
        del raw  # the calls hold what goes upstream; the client's bytes need not live as long as the answer
        guard = DisconnectGuard(scope, receive)

        async def work() -> None:
            opened = await self.router.open_chain(calls, on_context_length=on_context_length)
            headers = served_by(opened, record)
            if opened.streaming:
                await relay_stream(send, opened, guard, OPENAI, headers)
                return
            guard.responded = True
            content_type = opened.headers.get("content-type", "application/json").encode()
            await send_bytes(send, opened.status, opened.body, content_type or JSON, headers)

        await guard.run(work)

    def _calls(
        self, endpoint: Endpoint, raw: bytes, envelope: Envelope, model: str, resolved: Resolution,
        conversation: str | None,
    ) -> tuple[list[Call], bool]:  # fmt: skip
        targets, on_context_length = resolved
        if endpoint == "completions":
            targets = _serving_completions(targets)
        mode = self.settings.override_temperature_zero
        calls = []
        for target in targets:
            if endpoint == "chat" and mode != "off" and envelope.temperature == 0:
                body = _without_zero_temperature(raw, target.model, mode)
            else:
                body = with_model(raw, model, target.model)
            stream = envelope.stream is True
            calls.append(
                Call(target.provider.name, target.model, endpoint, body, stream, client_model=model,
                     conversation=conversation)
            )  # fmt: skip
        return calls, on_context_length


def served_by(opened: Opened, record: RequestRecord) -> list[tuple[bytes, bytes]]:
    """Which provider and key answered, after how many attempts, and what keyproxy itself added (noted in
    the request's record too)."""
    record.note_served(opened, time.perf_counter())
    return [
        (b"x-keyproxy-provider", opened.provider.encode()),
        (b"x-keyproxy-key", opened.key_mask.encode()),
        (b"x-keyproxy-attempts", str(opened.attempts).encode()),
        (b"x-keyproxy-overhead-ms", record.overhead_ms.encode()),
    ]


def _serving_completions(targets: list[Target]) -> list[Target]:
    """The targets whose protocol has the legacy completions endpoint; a 400 naming them when none has."""
    serving = [target for target in targets if target.provider.protocol in LEGACY_COMPLETIONS]
    if not serving:
        names = ", ".join(f"{t.provider.name} ({t.provider.protocol} protocol)" for t in targets)
        raise InvalidRequest(
            f"/v1/completions is served by OpenAI-compatible providers only, not by {names}; "
            "use /v1/chat/completions for this model"
        )
    return serving


def _without_zero_temperature(raw: bytes, upstream_model: str, mode: TemperatureOverride) -> bytes:
    """OVERRIDE_TEMPERATURE_ZERO: temperature 0 removed or set to 1.0, as the old proxy did."""
    data: dict[str, Any] = msgspec.json.decode(raw)
    if mode == "remove":
        del data["temperature"]
    else:
        data["temperature"] = 1.0
    data["model"] = upstream_model
    return msgspec.json.encode(data)
