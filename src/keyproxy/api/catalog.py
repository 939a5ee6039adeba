"""GET /v1/models, /v1/models/{id}, /v1/providers and the unauthenticated health check.

The model routes serve both client APIs: a request with an `anthropic-version` header (every Anthropic SDK
sends one, since Anthropic's API requires it) gets Anthropic's shapes and errors, any other OpenAI's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from keyproxy import __version__
from keyproxy.api.anthropic_dialect import ANTHROPIC
from keyproxy.api.asgi import Receive, Scope, Send, header, send_json
from keyproxy.api.openai_dialect import OPENAI
from keyproxy.api.route import Route, RouteTable
from keyproxy.engine.model_list import ModelList
from keyproxy.engine.pool import Pool
from keyproxy.errors import InvalidRequest, KeyproxyError, ModelNotFound
from keyproxy.redact import shown_url

_MODELS = "/models/"
_EPOCH = "1970-01-01T00:00:00Z"
"""Anthropic's `created_at` when the release date is unknown, as its API documents."""
_PAGE = 20
_MAX_PAGE = 1000


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
        if _anthropic(scope):
            try:
                page = anthropic_page([*self.aliases, *ids], dict(parse_qsl(scope.get("query_string", b"").decode())))
            except KeyproxyError as error:
                await ANTHROPIC.send_error(send, error)
                return
            await send_json(send, 200, page)
            return
        data = [_model(alias, "keyproxy") for alias in self.aliases] + [_model(model_id) for model_id in ids]
        await send_json(send, 200, {"object": "list", "data": data})

    async def get_model(self, scope: Scope, receive: Receive, send: Send) -> None:
        model_id: str = scope["path"].partition(_MODELS)[2]
        anthropic = _anthropic(scope)
        if await self._offered(model_id):
            await send_json(send, 200, _model_info(model_id) if anthropic else _model(model_id, self._owner(model_id)))
            return
        missing = ModelNotFound(f"model {model_id!r} is not offered by this proxy")
        if not anthropic:
            raise missing
        await ANTHROPIC.send_error(send, missing)

    async def _offered(self, model_id: str) -> bool:
        if model_id in self.aliases:
            return True
        provider, _, name = model_id.partition("/")
        return provider in self.pools and name in await self.models.provider_models(provider)

    def _owner(self, model_id: str) -> str | None:
        return "keyproxy" if model_id in self.aliases else None

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


def _model_info(model_id: str) -> dict[str, Any]:
    return {"type": "model", "id": model_id, "display_name": model_id, "created_at": _EPOCH}


def anthropic_page(ids: Sequence[str], query: Mapping[str, str]) -> dict[str, Any]:
    """One page of Anthropic's model list: `limit` (1 to 1000, 20 by default) ids after `after_id`, or before
    `before_id`, with `has_more` saying whether the list goes on in that direction."""
    raw_limit = query.get("limit", str(_PAGE))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= _MAX_PAGE:
        raise InvalidRequest(f"limit: must be an integer from 1 to {_MAX_PAGE}")
    limit = int(raw_limit)
    before, after = query.get("before_id"), query.get("after_id")
    if before is not None:
        end = _position(ids, before)
        start = max(0, end - limit)
        page, more = ids[start:end], start > 0
    else:
        start = _position(ids, after) + 1 if after is not None else 0
        page, more = ids[start : start + limit], start + limit < len(ids)
    return {
        "data": [_model_info(model_id) for model_id in page],
        "has_more": more,
        "first_id": page[0] if page else None,
        "last_id": page[-1] if page else None,
    }


def _position(ids: Sequence[str], model_id: str) -> int:
    try:
        return ids.index(model_id)
    except ValueError:
        raise InvalidRequest(f"no model {model_id!r} to page from") from None


def _anthropic(scope: Scope) -> bool:
    return header(scope, b"anthropic-version") is not None
