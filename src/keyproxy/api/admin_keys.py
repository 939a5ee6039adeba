"""Keys changed while the proxy runs: add, remove, disable, enable and test one (`/v1/admin/keys`).

A key is never answered in full: an answer names it by fingerprint (`id`) and mask. A change reaches the next
request; requests in flight finish on the keys they started with (engine/keyring.py).
"""

from __future__ import annotations

import msgspec

from keyproxy.api.asgi import Receive, Scope, Send, read_body, send_json
from keyproxy.api.openai_dialect import OPENAI
from keyproxy.api.route import Route, RouteTable
from keyproxy.engine.keyring import KeyRing
from keyproxy.engine.reprobe import probe_key
from keyproxy.errors import InvalidRequest, NotFound
from keyproxy.translate.malformed import UNREADABLE
from keyproxy.transport.base import Transport

_PREFIX = "/admin/keys/"


class _Add(msgspec.Struct, forbid_unknown_fields=True):
    provider: str
    key: str


class KeyRoutes:
    def __init__(self, keys: KeyRing, transport: Transport, body_limit: int) -> None:
        self.keys = keys
        self.transport = transport
        self.body_limit = body_limit

    def routes(self) -> RouteTable:
        return {
            ("POST", "/v1/admin/keys"): Route(self.add, OPENAI, admin=True),
            ("DELETE", "/v1/admin/keys/"): Route(self.remove, OPENAI, admin=True, prefix=True),
            ("POST", "/v1/admin/keys/"): Route(self.act, OPENAI, admin=True, prefix=True),
        }

    async def add(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = await read_body(scope, receive, 64 * 1024)
        try:
            request = msgspec.json.decode(raw, type=_Add)
        except UNREADABLE:
            # The decoder's message could quote the key.
            raise InvalidRequest('expected {"provider": "<name>", "key": "<the key>"}') from None
        entry = await self.keys.add(request.provider, request.key.strip())
        await send_json(send, 201, {"provider": request.provider, "id": entry.key_id, "key": entry.mask})

    async def remove(self, scope: Scope, receive: Receive, send: Send) -> None:
        provider, key = _named(scope)
        entry = await self.keys.remove(provider, key)
        await send_json(send, 200, {"provider": provider, "id": entry.key_id, "removed": True})

    async def act(self, scope: Scope, receive: Receive, send: Send) -> None:
        provider, key, action = _action(scope)
        if action == "test":
            entry = self.keys.find(provider, key)
            probe = await probe_key(self.transport, self.keys.probe_pool(provider, entry), 0, self.body_limit)
            answer = {"provider": provider, "id": entry.key_id, "key": entry.mask, "result": probe.result,
                      "status": probe.status, "message": probe.message}  # fmt: skip
            await send_json(send, 200, answer)
            return
        entry = await self.keys.set_disabled(provider, key, action == "disable")
        await send_json(send, 200, {"provider": provider, "id": entry.key_id, "disabled": entry.disabled})


def _named(scope: Scope) -> tuple[str, str]:
    parts = _parts(scope)
    if len(parts) != 2:
        raise NotFound(f"no route for {scope['method']} {scope['path']}")
    return parts[0], parts[1]


def _action(scope: Scope) -> tuple[str, str, str]:
    parts = _parts(scope)
    if len(parts) != 3 or parts[2] not in ("disable", "enable", "test"):
        raise NotFound(f"no route for {scope['method']} {scope['path']}: use .../disable, .../enable or .../test")
    return parts[0], parts[1], parts[2]


def _parts(scope: Scope) -> list[str]:
    """`{provider}/{id}[/{action}]` after /v1/admin/keys/ (or /admin/keys/)."""
    path: str = scope["path"]
    return path[path.index(_PREFIX) + len(_PREFIX) :].split("/")
