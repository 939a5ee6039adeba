"""GET /v1/models, /v1/models/{id}, /v1/providers and the unauthenticated health check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keyproxy import __version__
from keyproxy.api.asgi import Receive, Scope, Send, send_json
from keyproxy.api.openai_dialect import OPENAI
from keyproxy.api.route import Route, RouteTable
from keyproxy.engine.model_list import ModelList
from keyproxy.engine.pool import Pool
from keyproxy.errors import ModelNotFound
from keyproxy.redact import shown_url

_MODELS = "/models/"


class CatalogRoutes:
    """Aliases (fallback chains) are listed first, as models owned by "keyproxy"."""

    def __init__(self, pools: Mapping[str, Pool], models: ModelList, aliases: tuple[str, ...] = ()) -> None:
        self.pools = pools
        self.models = models
        self.aliases = aliases

    def routes(self) -> RouteTable:
        return {
            ("GET", "/v1/models"): Route(self.list_models, OPENAI),
            ("GET", "/v1/models/"): Route(self.get_model, OPENAI, prefix=True),
            ("GET", "/v1/providers"): Route(self.providers, OPENAI),
            ("GET", "/health"): Route(health, OPENAI, public=True),
            ("GET", "/v1/health"): Route(health, OPENAI, public=True),
        }

    async def list_models(self, scope: Scope, receive: Receive, send: Send) -> None:
        ids = await self.models.ids()
        data = [_model(alias, "keyproxy") for alias in self.aliases] + [_model(model_id) for model_id in ids]
        await send_json(send, 200, {"object": "list", "data": data})

    async def get_model(self, scope: Scope, receive: Receive, send: Send) -> None:
        model_id: str = scope["path"].partition(_MODELS)[2]
        if model_id in self.aliases:
            await send_json(send, 200, _model(model_id, "keyproxy"))
            return
        provider, _, name = model_id.partition("/")
        if provider in self.pools and name in await self.models.provider_models(provider):
            await send_json(send, 200, _model(model_id))
            return
        raise ModelNotFound(f"model {model_id!r} is not offered by this proxy")

    async def providers(self, scope: Scope, receive: Receive, send: Send) -> None:
        data = [
            {
                "name": name,
                "protocol": pool.settings.protocol,
                "base_url": shown_url(pool.settings.base_url),
                "keys": len(pool.key_ids),
                "custom": pool.settings.custom,
            }
            for name, pool in self.pools.items()
        ]
        await send_json(send, 200, {"object": "list", "data": data})


async def health(scope: Scope, receive: Receive, send: Send) -> None:
    await send_json(send, 200, {"status": "ok", "version": __version__})


def _model(model_id: str, owner: str | None = None) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": owner or model_id.partition("/")[0]}
