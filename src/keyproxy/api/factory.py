"""Wires settings into a running application: pools, transport, state, router, routes."""

from __future__ import annotations

from keyproxy.api.app import KeyproxyApp
from keyproxy.api.catalog import CatalogRoutes
from keyproxy.api.chat import CompletionRoutes
from keyproxy.clock import Clock, SystemClock
from keyproxy.config.settings import Settings
from keyproxy.engine.events import EventSink, LogSink
from keyproxy.engine.model_list import ModelList
from keyproxy.engine.pool import Pool
from keyproxy.engine.router import Router
from keyproxy.state.base import StateStore
from keyproxy.state.memory import MemoryStore
from keyproxy.transport.base import Transport


def build_app(
    settings: Settings,
    *,
    transport: Transport | None = None,
    clock: Clock | None = None,
    state: StateStore | None = None,
    events: EventSink | None = None,
) -> KeyproxyApp:
    if transport is None:
        from keyproxy.transport.aiohttp_transport import AiohttpTransport

        transport = AiohttpTransport()
    clock = clock or SystemClock()
    pools = {name: Pool.build(provider) for name, provider in settings.providers.items()}
    router = Router(
        pools, transport, state or MemoryStore(), clock, events or LogSink(), settings.timeouts,
        keepalive=settings.keepalive_interval,
    )  # fmt: skip
    models = ModelList(pools, transport, clock, settings.timeouts, settings.models_cache_ttl)
    return KeyproxyApp(
        settings.proxy_api_key, CompletionRoutes(settings, router), CatalogRoutes(pools, models), transport
    )
