"""GET /v1/status (every key's state, disabled ones too) and POST /v1/admin/reset (lift a key's cooldowns and bench)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from keyproxy.api.asgi import Receive, Scope, Send, read_body, send_json
from keyproxy.api.openai_dialect import OPENAI
from keyproxy.api.route import Route, RouteTable
from keyproxy.clock import Clock
from keyproxy.engine.holds import HeldOut, Holds
from keyproxy.engine.keyring import KeyEntry, KeyRing
from keyproxy.errors import InvalidRequest, NotFound
from keyproxy.redact import shown_url
from keyproxy.state.base import KeyReport, StateStore
from keyproxy.translate.malformed import UNREADABLE
from keyproxy.transport.proxy_health import ProxyHealth, Seen


class AdminRoutes:
    def __init__(
        self, keys: KeyRing, state: StateStore, clock: Clock, holds: Holds, proxy_health: ProxyHealth | None = None
    ) -> None:
        """`proxy_health` is None when the transport is not the built-in one, which alone knows it."""
        self.keys = keys
        self.state = state
        self.clock = clock
        self.holds = holds
        self.proxy_health = proxy_health

    def routes(self) -> RouteTable:
        return {
            ("GET", "/v1/status"): Route(self.status, OPENAI, admin=True),
            ("POST", "/v1/admin/reset"): Route(self.reset, OPENAI, admin=True),
        }

    async def status(self, scope: Scope, receive: Receive, send: Send) -> None:
        now = self.clock.now()
        providers: dict[str, Any] = {}
        for name, pool in self.keys.pools.items():
            entries = self.keys.entries(name)
            reports = await self.state.report(name, tuple(entry.key_id for entry in entries), now)
            held: dict[str, list[HeldOut]] = {}
            for hold in await self.holds.report(pool, now):
                held.setdefault(hold.key_id, []).append(hold)
            providers[name] = {
                "rotation_mode": pool.policy.mode,
                "keys": [
                    _key(entry, report, held.get(entry.key_id, ()), self.proxy_health)
                    for entry, report in zip(entries, reports, strict=True)
                ],
            }
        await send_json(send, 200, {"now": now, "providers": providers})

    async def reset(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = await read_body(scope, receive, 64 * 1024)
        try:
            request = msgspec.json.decode(raw or b"{}", type=_Reset)
        except UNREADABLE as exc:
            raise InvalidRequest(f'expected {{"provider": ..., "key": optional}}: {exc}') from None
        if request.provider not in self.keys.pools:
            raise NotFound(f"no provider {request.provider!r}")
        key_id = None if request.key is None else self.keys.find(request.provider, request.key).key_id
        lifted = await self.state.clear(request.provider, key_id)
        await send_json(send, 200, {"provider": request.provider, "lifted": lifted})


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


def _key(
    entry: KeyEntry, report: KeyReport, held: Sequence[HeldOut], proxy_health: ProxyHealth | None
) -> dict[str, Any]:
    proxy = entry.credential.proxy
    state = key_state(report)
    if held and state["status"] == "ok":
        # Usable by its cooldowns, yet not chosen for these models: the fair cycle or a cap holds it out.
        state["status"] = "held"
    return {
        "key": entry.mask,
        "id": report.key_id,
        "source": entry.credential.source,
        "origin": entry.origin,
        "disabled": entry.disabled,
        "priority": entry.credential.priority,
        "proxy": shown_url(proxy) if proxy else None,
        "proxy_health": _health(proxy_health.of(proxy)) if proxy and proxy_health else None,
        "models": list(models) if (models := entry.credential.models) is not None else None,
        **state,
        "held": [{"model": h.model.removeprefix("group:"), "by": h.by, "until": h.until} for h in held],
        "benched_until": report.benched_until or None,
        "bench_reason": report.bench_reason.value if report.bench_reason else None,
        "recent_requests": round(report.usage, 2),
        "last_used": report.last_used or None,
    }


def _health(seen: Seen | None) -> dict[str, Any]:
    """This instance's view of a key's proxy: `unknown` until a connection through it was opened or failed."""
    if seen is None:
        return {"state": "unknown", "since": None, "failures": 0, "problem": None}
    return {"state": seen.state, "since": seen.since, "failures": seen.failures, "problem": seen.problem}
