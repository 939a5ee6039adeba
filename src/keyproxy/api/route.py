"""A route: the handler of one method and path, the dialect its errors are spoken in, and who may call it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from keyproxy.api.asgi import Receive, Scope, Send
from keyproxy.api.dialect import Dialect

Handler = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Route:
    handler: Handler
    dialect: Dialect
    public: bool = False
    """Answered without the proxy key (the health check)."""
    admin: bool = False
    """Takes the admin key, not the proxy key, when KEYPROXY_ADMIN_KEY is set."""
    prefix: bool = False
    """The path is a prefix and the rest of it names something (`/v1/models/{id}`)."""


RouteTable = Mapping[tuple[str, str], Route]
"""(method, path) -> Route: what one group of routes (one client API, the catalog, the admin) serves."""
