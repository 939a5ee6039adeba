"""Wires settings into a running application: pools, transport, state, router, routes, background jobs."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING

from keyproxy.api.access_log import AccessLog
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
from keyproxy.api.metrics import Metrics
from keyproxy.api.metrics_route import MetricsRoutes
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
from keyproxy.events import EventSink, LogSink, RequestWatch, Sinks
from keyproxy.state.base import StateStore
from keyproxy.state.memory import MemoryStore
from keyproxy.state.sqlite_store import SqliteStore
from keyproxy.transport.base import Transport
from keyproxy.usage.activity import ActivityRecorder
from keyproxy.usage.book import UsageBook
from keyproxy.usage.prices import PriceTable

if TYPE_CHECKING:
    from keyproxy.api.capture import CaptureHook


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
        from keyproxy.transport.http1 import Http1Transport

        transport = Http1Transport()
    clock = clock or SystemClock()
    engine = settings.engine
    keys = _keys(settings)
    pools = keys.pools
    # Keys added at run time are scrubbed from captures too: the pools hold every key there is.
    capture = _capture(settings, clock, lambda: {*settings.secrets(), *(s for p in pools.values() for s in p.hidden)})
    if capture is not None:
        from keyproxy.transport.capturing import CapturingTransport

        transport = CapturingTransport(transport)
    prices = PriceTable(settings.state.prices)
    store = state if state is not None else _state(settings, keys.known_ids(), prices)
    metrics = Metrics(_known_models(settings), prices)
    access = AccessLog(settings.access_log) if settings.access_log != "off" else None
    watch = RequestWatch(*(access,) if access else (), metrics)
    activity = ActivityRecorder()
    sinks = Sinks(events or LogSink(), store, metrics, activity, *([capture.sink] if capture else []))
    router = Router(
        pools, transport, store, clock, sinks, settings.timeouts, engine,
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
        MetricsRoutes(metrics, watch, pools, store, clock, public=settings.metrics_public),
    )
    return KeyproxyApp(
        ProxyKey(settings.proxy_api_key, clock, settings.auth_failure_pause),
        [group.routes() for group in routes],
        cors=CorsPolicy(settings.cors_origins, keyed=settings.proxy_api_key is not None),
        admin_key=ProxyKey(settings.admin_api_key, clock, settings.auth_failure_pause, "admin key"),
        reload=reloader.reload,
        background=(reprober.run,),
        startup=(partial(store.start, clock), *([capture.writer.start] if capture else [])),
        shutdown=(
            store.stop, transport.aclose, *((access.stop,) if access else ()),
            *([capture.writer.stop] if capture else []),
        ),
        watch=watch,
        capture=capture,
    )


def _keys(settings: Settings) -> KeyRing:
    """The configured keys with the changes made at run time, saved in the data dir unless state is kept in
    memory only (docs/security.md)."""
    path = None if settings.state.backend == "memory" else settings.data_dir / FILE_NAME
    keys = KeyRing(settings.providers, read_key_changes(path) if path else {}, settings.rotation_tolerance, path)
    if keys.stale:
        keys.save_now()
    return keys


def _known_models(settings: Settings) -> list[str]:
    """Model names metrics label as they are from the start: aliases and the providers' configured lists."""
    known = list(settings.aliases)
    for name, provider in settings.providers.items():
        known += [f"{name}/{model}" for model in provider.whitelist_models]
        known += provider.whitelist_models
    return known


def _capture(settings: Settings, clock: Clock, secrets: Callable[[], Iterable[str]]) -> CaptureHook | None:
    """Request capture's hooks, imported only when it is on. `secrets`: what to scrub, keys added at run time
    included."""
    config = settings.capture
    if config.mode == "off":
        return None
    from keyproxy.api.capture import CaptureHook
    from keyproxy.capture import CaptureWriter

    writer = CaptureWriter(
        settings.data_dir, secrets, retention_days=config.retention_days,
        max_total_bytes=config.max_total_bytes,
    )  # fmt: skip
    return CaptureHook(config.mode, writer, config.max_bytes, clock)


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
