"""Wires settings into a running application: pools, transport, state, router, routes, background jobs."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from functools import partial

from keyproxy.api.activity import ActivityRoutes
from keyproxy.api.admin import AdminRoutes
from keyproxy.api.admin_keys import KeyRoutes
from keyproxy.api.admin_reload import Reloader
from keyproxy.api.app import KeyproxyApp
from keyproxy.api.auth import ProxyKey
from keyproxy.api.catalog import CatalogRoutes
from keyproxy.api.chat import CompletionRoutes
from keyproxy.api.cors import CorsPolicy
from keyproxy.api.messages import MessagesRoutes
from keyproxy.api.openapi import OpenAPIRoutes
from keyproxy.api.responses import ResponsesRoutes
from keyproxy.api.targets import Resolver
from keyproxy.api.ui import UiRoutes
from keyproxy.api.usage_routes import UsageRoutes
from keyproxy.clock import Clock, SystemClock
from keyproxy.config.runtime_keys import FILE_NAME, read_key_changes
from keyproxy.config.settings import Settings
from keyproxy.engine.keyring import KeyRing
from keyproxy.engine.model_list import ModelList
from keyproxy.engine.reprobe import Reprober
from keyproxy.engine.router import Router
from keyproxy.events import EventSink, LogSink, Sinks
from keyproxy.state.base import StateStore
from keyproxy.state.memory import MemoryStore
from keyproxy.state.sqlite_store import SqliteStore
from keyproxy.transport.base import Transport
from keyproxy.usage.activity import ActivityRecorder
from keyproxy.usage.book import UsageBook
from keyproxy.usage.prices import PriceTable


def build_app(
    settings: Settings,
    *,
    transport: Transport | None = None,
    clock: Clock | None = None,
    state: StateStore | None = None,
    events: EventSink | None = None,
    rng: random.Random | None = None,
    load: Callable[[], Settings] | None = None,
) -> KeyproxyApp:
    """`load` reads the configuration again for a reload (SIGHUP, POST /v1/admin/reload)."""
    if transport is None:
        from keyproxy.transport.aiohttp_transport import AiohttpTransport

        transport = AiohttpTransport()
    clock = clock or SystemClock()
    engine = settings.engine
    keys = _keys(settings)
    pools = keys.pools
    prices = PriceTable(settings.state.prices)
    store = state if state is not None else _state(settings, keys.known_ids(), prices)
    activity = ActivityRecorder()
    router = Router(
        pools, transport, store, clock, Sinks(events or LogSink(), store, activity), settings.timeouts, engine,
        keepalive=settings.keepalive_interval, rng=rng, limits=settings.answer_limits,
    )  # fmt: skip
    models = ModelList(pools, transport, clock, settings.timeouts, settings.models_cache_ttl, settings.answer_limits)
    reprober = Reprober(pools, transport, store, clock, engine.bench_seconds, settings.answer_limits)
    resolver = Resolver(settings, models)
    catalog = CatalogRoutes(pools, models, tuple(settings.aliases))
    reloader = Reloader(settings, keys, resolver, catalog, load)
    routes = (
        CompletionRoutes(settings, router, resolver),
        MessagesRoutes(settings, router, resolver),
        ResponsesRoutes(settings, router, resolver, store, clock),
        catalog,
        AdminRoutes(keys, store, clock),
        KeyRoutes(keys, transport, settings.answer_limits.body_bytes),
        reloader,
        UsageRoutes(pools, store, clock, prices),
        ActivityRoutes(pools, activity, clock),
        UiRoutes(),
        OpenAPIRoutes(),
    )
    return KeyproxyApp(
        ProxyKey(settings.proxy_api_key, clock, settings.auth_failure_pause),
        [group.routes() for group in routes],
        cors=CorsPolicy(settings.cors_origins, keyed=settings.proxy_api_key is not None),
        admin_key=ProxyKey(settings.admin_api_key, clock, settings.auth_failure_pause, "admin key"),
        reload=reloader.reload,
        background=(reprober.run,),
        startup=(partial(store.start, clock),),
        shutdown=(store.stop, transport.aclose),
    )


def _keys(settings: Settings) -> KeyRing:
    """The configured keys with the changes made at run time, saved in the data dir unless state is kept in
    memory only (docs/security.md)."""
    path = None if settings.state.backend == "memory" else settings.data_dir / FILE_NAME
    keys = KeyRing(settings.providers, read_key_changes(path) if path else {}, settings.rotation_tolerance, path)
    if keys.stale:
        keys.save_now()
    return keys


def _state(settings: Settings, known: Iterable[tuple[str, str]], prices: PriceTable) -> StateStore:
    """SQLite in the data dir by default. With KEYPROXY_REDIS_URL, Redis holds the shared state and usage
    sums and the local store stands in for it during an outage; the local store keeps this instance's
    durable usage history either way."""
    config = settings.state
    local: StateStore
    if config.backend == "memory":
        local = MemoryStore(UsageBook(prices))
    else:
        # Keys added at run time and disabled keys count as configured: their state is kept.
        configured = set(known)
        local = SqliteStore(
            settings.data_dir / "keyproxy.db", UsageBook(prices), interval=config.flush_interval,
            retention_days=config.retention_days, grace_seconds=config.prune_grace_days * 86400,
            configured=configured,
        )  # fmt: skip
    if config.redis_url is None:
        return local
    from keyproxy.state.redis_store import RedisStore

    return RedisStore(
        config.redis_url, local, interval=config.flush_interval, retention_days=config.retention_days, price=prices,
        response_ttl=config.responses_retention_days * 86400.0,
    )
