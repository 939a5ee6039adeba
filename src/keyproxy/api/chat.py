"""POST /v1/chat/completions and /v1/embeddings: validate the envelope, route, relay."""

from __future__ import annotations

from typing import Any

import msgspec

from keyproxy.api.asgi import JSON, Receive, Scope, Send, read_body, send_bytes
from keyproxy.api.streaming import DisconnectGuard, relay_stream
from keyproxy.config.filters import model_allowed
from keyproxy.config.settings import Settings, TemperatureOverride
from keyproxy.engine.router import Call, Router
from keyproxy.errors import InvalidRequest, ModelNotFound
from keyproxy.providers import Endpoint
from keyproxy.translate.rewrite import with_model


class CompletionRoutes:
    def __init__(self, settings: Settings, router: Router) -> None:
        self.settings = settings
        self.router = router
        self.configured = ", ".join(sorted(settings.providers)) or "none"

    async def chat(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._serve("chat", scope, receive, send)

    async def embeddings(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._serve("embeddings", scope, receive, send)

    async def _serve(self, endpoint: Endpoint, scope: Scope, receive: Receive, send: Send) -> None:
        raw = await read_body(scope, receive, self.settings.max_body_bytes)
        call = self._call(endpoint, raw)
        guard = DisconnectGuard(receive)

        async def work() -> None:
            opened = await self.router.open(call)
            if opened.chunks is not None:
                await relay_stream(send, opened, guard)
                return
            guard.responded = True
            content_type = opened.headers.get("content-type", "application/json").encode()
            await send_bytes(send, opened.status, opened.body, content_type or JSON)

        await guard.run(work)

    def _call(self, endpoint: Endpoint, raw: bytes) -> Call:
        try:
            envelope = _ENVELOPE.decode(raw)
        except msgspec.ValidationError:
            raise InvalidRequest("request body must be a JSON object") from None
        except msgspec.DecodeError:
            raise InvalidRequest("request body is not valid JSON") from None
        model = envelope.model
        if not isinstance(model, str) or not model:
            raise InvalidRequest('"model" is required, as "provider/model"')
        provider_name, _, upstream_model = model.partition("/")
        provider = self.settings.providers.get(provider_name)
        if provider is None or not upstream_model:
            raise InvalidRequest(
                f"unknown provider {provider_name!r} in model {model!r}; "
                f"use provider/model with one of: {self.configured}"
            )
        if not model_allowed(upstream_model, provider.ignore_models, provider.whitelist_models):
            raise ModelNotFound(f"model {model!r} is not offered by this proxy")
        mode = self.settings.override_temperature_zero
        if endpoint == "chat" and mode != "off" and envelope.temperature == 0:
            body = _without_zero_temperature(raw, upstream_model, mode)
        else:
            body = with_model(raw, model, upstream_model)
        return Call(provider_name, upstream_model, endpoint, body, stream=envelope.stream is True)


class _Envelope(msgspec.Struct):
    """The only fields routing needs; the rest of the body is validated as JSON but not built."""

    model: Any = None
    stream: Any = None
    temperature: Any = None


_ENVELOPE = msgspec.json.Decoder(_Envelope)


def _without_zero_temperature(raw: bytes, upstream_model: str, mode: TemperatureOverride) -> bytes:
    """OVERRIDE_TEMPERATURE_ZERO: temperature 0 removed or set to 1.0, as the old proxy did."""
    data: dict[str, Any] = msgspec.json.decode(raw)
    if mode == "remove":
        del data["temperature"]
    else:
        data["temperature"] = 1.0
    data["model"] = upstream_model
    return msgspec.json.encode(data)
