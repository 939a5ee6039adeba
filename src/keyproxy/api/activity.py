"""GET /v1/admin/activity: recent attempts per minute, each key's last hour and the latest failures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from keyproxy.api.asgi import Receive, Scope, Send, send_json
from keyproxy.api.openai_dialect import OPENAI
from keyproxy.api.route import Route, RouteTable
from keyproxy.clock import Clock
from keyproxy.engine.pool import Pool
from keyproxy.errors import InvalidRequest
from keyproxy.events import AttemptEvent
from keyproxy.redact import scrub_text
from keyproxy.usage.activity import DAY_MINUTES, FAILURES_KEPT, KEY_MINUTES, ActivityRecorder

PATH = "/v1/admin/activity"
MESSAGE_CHARS = 300
"""A failure's message is cut here: the dashboard shows a line of it, the log keeps it whole."""
_POINTS = 360
"""The most buckets one answer draws."""


class ActivityRoutes:
    def __init__(self, pools: Mapping[str, Pool], activity: ActivityRecorder, clock: Clock) -> None:
        self.pools = pools
        self.activity = activity
        self.clock = clock

    def routes(self) -> RouteTable:
        return {("GET", PATH): Route(self.show, OPENAI, admin=True)}

    async def show(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = {name: values[-1] for name, values in parse_qs(scope.get("query_string", b"").decode()).items()}
        minutes = _number(query, "minutes", 60, 1, DAY_MINUTES)
        step = _number(query, "step", max(1, -(-minutes // _POINTS)), 1, DAY_MINUTES)
        if -(-minutes // step) > _POINTS:
            raise InvalidRequest(f"step: at most {_POINTS} buckets per answer; use a step of {-(-minutes // _POINTS)} "
                                 "minutes or more for that range")  # fmt: skip
        limit = _number(query, "failures", 50, 0, FAILURES_KEPT)
        provider = query.get("provider") or None
        now = self.clock.now()
        secrets = [secret for pool in self.pools.values() for secret in pool.hidden]
        await send_json(send, 200, {
            "now": now,
            "series": self.activity.series(now, minutes, step, provider),
            "key_window_minutes": KEY_MINUTES,
            "keys": self.activity.keys(now),
            "failures": [_failure(event, secrets) for event in self.activity.failures(limit)],
        })  # fmt: skip


def _number(query: Mapping[str, str], name: str, default: int, least: int, most: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not least <= int(raw) <= most:
        raise InvalidRequest(f"{name} must be a whole number from {least} to {most}, got {raw!r}")
    return int(raw)


def _failure(event: AttemptEvent, secrets: list[str]) -> dict[str, Any]:
    # Upstream bodies are scrubbed before they become messages; a transport error's text is scrubbed here too,
    # whole, since a cut could leave part of a key that no longer matches.
    message = scrub_text(event.message, secrets)[:MESSAGE_CHARS]
    return {
        "at": event.at,
        "provider": event.provider,
        "key": event.key_mask,
        "id": event.key_id,
        "model": event.model,
        "class": event.outcome.value if event.outcome else None,
        "status": event.status,
        "attempt": event.attempt,
        "message": message,
    }
