"""GET /v1/status (every key's state) and POST /v1/admin/reset (lift a key's cooldowns and bench)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from keyproxy.api.asgi import Receive, Scope, Send, read_body, send_json
from keyproxy.api.openai_dialect import OPENAI
from keyproxy.api.route import Route, RouteTable
from keyproxy.clock import Clock
from keyproxy.engine.pool import Pool
from keyproxy.errors import InvalidRequest, NotFound
from keyproxy.redact import shown_url
from keyproxy.state.base import KeyReport, StateStore
from keyproxy.translate.malformed import UNREADABLE


class AdminRoutes:
    def __init__(self, pools: Mapping[str, Pool], state: StateStore, clock: Clock) -> None:
        self.pools = pools
        self.state = state
        self.clock = clock

    def routes(self) -> RouteTable:
        return {
            ("GET", "/v1/status"): Route(self.status, OPENAI),
            ("POST", "/v1/admin/reset"): Route(self.reset, OPENAI),
        }

    async def status(self, scope: Scope, receive: Receive, send: Send) -> None:
        now = self.clock.now()
        providers: dict[str, Any] = {}
        for name, pool in self.pools.items():
            reports = await self.state.report(name, pool.key_ids, now)
            providers[name] = {
                "rotation_mode": pool.policy.mode,
                "keys": [_key(pool, index, report) for index, report in enumerate(reports)],
            }
        await send_json(send, 200, {"now": now, "providers": providers})

    async def reset(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = await read_body(scope, receive, 64 * 1024)
        try:
            request = msgspec.json.decode(raw or b"{}", type=_Reset)
        except UNREADABLE as exc:
            raise InvalidRequest(f"expected {{\"provider\": ..., \"key\": optional}}: {exc}") from None
        pool = self.pools.get(request.provider)
        if pool is None:
            raise NotFound(f"no provider {request.provider!r}")
        key_id: str | None = None
        if request.key is not None:
            index = pool.index_of(request.key)
            if index is None:
                raise NotFound(f"provider {request.provider!r} has no key {request.key!r} (give a fingerprint or mask)")
            key_id = pool.key_ids[index]
        lifted = await self.state.clear(pool.name, key_id)
        await send_json(send, 200, {"provider": pool.name, "lifted": lifted})


class _Reset(msgspec.Struct):
    provider: str
    key: str | None = None


def key_state(report: KeyReport) -> dict[str, Any]:
    """A key's live state as /v1/status and /v1/usage show it."""
    return {
        "status": "benched" if report.benched_until else "cooling" if report.cooldowns else "ok",
        "cooldowns": [
            {"model": c.model.removeprefix("group:"), "until": c.until, "reason": c.reason.value}
            for c in report.cooldowns
        ],
        "in_flight": report.in_flight,
    }


def _key(pool: Pool, index: int, report: KeyReport) -> dict[str, Any]:
    return {
        "key": pool.masks[index],
        "id": report.key_id,
        "source": pool.settings.credentials[index].source,
        "priority": pool.priorities[index],
        "proxy": shown_url(proxy) if (proxy := pool.proxies[index]) else None,
        **key_state(report),
        "benched_until": report.benched_until or None,
        "bench_reason": report.bench_reason.value if report.bench_reason else None,
        "recent_requests": round(report.usage, 2),
        "last_used": report.last_used or None,
    }
