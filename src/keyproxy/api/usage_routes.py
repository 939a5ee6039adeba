"""GET /v1/usage, POST /v1/cost-estimate and POST /v1/token-count."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from keyproxy.api.admin import key_state
from keyproxy.api.asgi import Receive, Scope, Send, read_body, send_json
from keyproxy.api.openai_dialect import OPENAI
from keyproxy.api.route import Route, RouteTable
from keyproxy.clock import Clock
from keyproxy.engine.pool import Pool
from keyproxy.errors import InvalidRequest
from keyproxy.state.base import StateStore
from keyproxy.translate.malformed import decode_request
from keyproxy.usage.counters import UsageCounters, report
from keyproxy.usage.estimates import cost_estimate, token_count
from keyproxy.usage.prices import PriceTable

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class UsageRoutes:
    def __init__(self, pools: Mapping[str, Pool], state: StateStore, clock: Clock, prices: PriceTable) -> None:
        self.pools = pools
        self.state = state
        self.clock = clock
        self.prices = prices

    def routes(self) -> RouteTable:
        return {
            ("GET", "/v1/usage"): Route(self.usage, OPENAI, admin=True),
            ("POST", "/v1/cost-estimate"): Route(self.cost_estimate, OPENAI),
            ("POST", "/v1/token-count"): Route(self.token_count, OPENAI),
        }

    async def usage(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Totals per provider, key (masked) and model over the days asked for, with each key's live state."""
        params = {name: values[-1] for name, values in parse_qs(scope.get("query_string", b"").decode()).items()}
        for name in ("since", "until"):
            if name in params and not _DAY.match(params[name]):
                raise InvalidRequest(f"{name} must be a UTC day as YYYY-MM-DD, got {params[name]!r}")
        provider, model = params.get("provider"), params.get("model")
        rows = await self.state.usage(provider, model, params.get("since"), params.get("until"))
        now = self.clock.now()
        providers: dict[str, Any] = {}
        for name, pool in self.pools.items():
            if provider is None or name == provider:
                reports = await self.state.report(name, pool.key_ids, now)
                keys = {pool.masks[i]: {**key_state(r), "models": {}} for i, r in enumerate(reports)}
                providers[name] = {"keys": keys}
        for key, counters in rows:
            keys = providers.setdefault(key.provider, {"keys": {}})["keys"]
            shown = self._shown(key.provider, key.key_id)
            entry = keys.setdefault(shown, {"status": "unconfigured", "cooldowns": [], "models": {}})
            models = entry.setdefault("models", {})
            total = models.get(key.model)
            if total is None:
                models[key.model] = total = UsageCounters()
            total.add(counters)
        for data in providers.values():
            for entry in data["keys"].values():
                entry["models"] = {name: report(c) for name, c in entry.get("models", {}).items()}
        await send_json(send, 200, {"since": params.get("since"), "until": params.get("until"), "providers": providers})

    async def cost_estimate(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_json(send, 200, cost_estimate(await _json(scope, receive), self.prices))

    async def token_count(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_json(send, 200, token_count(await _json(scope, receive)))

    def _shown(self, provider: str, key_id: str) -> str:
        pool = self.pools.get(provider)
        if pool is not None and key_id in pool.key_ids:
            return pool.masks[pool.key_ids.index(key_id)]
        return f"id:{key_id}"  # a key no longer configured is known only by its fingerprint


async def _json(scope: Scope, receive: Receive) -> dict[str, Any]:
    data = decode_request(await read_body(scope, receive, 1024 * 1024))
    if not isinstance(data, dict):
        raise InvalidRequest("request body must be a JSON object")
    return data
