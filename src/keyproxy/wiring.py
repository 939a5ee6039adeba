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
from keyproxy.api.stored_responses import rekeyed
from keyproxy.api.targets import Resolver
from keyproxy.api.ui import UiRoutes
from keyproxy.api.usage_routes import UsageRoutes
from keyproxy.clock import Clock, SystemClock
from keyproxy.config.runtime_keys import FILE_NAME, SavedChanges, read_key_changes
from keyproxy.config.settings import Settings
from keyproxy.engine.accounts import Accounts
from keyproxy.engine.keyring import KeyRing
from keyproxy.engine.model_list import ModelList
from keyproxy.engine.reprobe import Reprober
from keyproxy.engine.router import Router
from keyproxy.events import EventSink, LogSink, RequestWatch, Sinks
from keyproxy.redact import Fingerprinter
from keyproxy.state.base import StateStore
from keyproxy.state.fingerprints import Rekey, deployment_fingerprints, key_renames
from keyproxy.state.memory import MemoryStore
from keyproxy.state.sqlite_store import SqliteStore
from keyproxy.transport.base import Transport
from keyproxy.transport.proxy_health import ProxyHealth
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
    spread_reload: Callable[[], None] | None = None,
) -> KeyproxyApp:
    """`load` reads the configuration again for a reload (SIGHUP, POST /v1/admin/reload); `spread_reload` asks
    the other workers to reload after POST /v1/admin/reload (cli/worker_link.py)."""
    clock = clock or SystemClock()
    # Known only for the built-in transport, which opens the connections through proxies.
    proxy_health = None
    if transport is None:
        from keyproxy.transport.http1 import Http1Transport

        proxy_health = ProxyHealth(clock)
        transport = Http1Transport(proxy_health)
    engine = settings.engine
    accounts = Accounts(settings.google_oauth, transport, clock)
    keys = _keys(settings, deployment_fingerprints(settings.state, settings.data_dir), accounts)
    pools = keys.pools
    # Keys added at run time are scrubbed from captures too: the pools hold every key there is.
    capture = _capture(settings, clock, lambda: {*settings.secrets(), *(s for p in pools.values() for s in p.hidden)})
    if capture is not None:
        from keyproxy.transport.capturing import CapturingTransport

        transport = CapturingTransport(transport)
    prices = PriceTable(settings.state.prices)
    store = state if state is not None else _state(settings, keys, prices)
    metrics = Metrics(_known_models(settings), prices) if settings.metrics else None
    access = AccessLog(settings.access_log) if settings.access_log != "off" else None
    watch = RequestWatch(*(access,) if access else (), *(metrics,) if metrics else ())
    activity = ActivityRecorder()
    sinks = Sinks(
        events or LogSink(), store, *(metrics,) if metrics else (), activity, *([capture.sink] if capture else [])
    )
    router = Router(
        pools, transport, store, clock, sinks, settings.timeouts, engine,
        keepalive=settings.keepalive_interval, rng=rng, limits=settings.answer_limits,
    )  # fmt: skip
    models = ModelList(pools, transport, clock, settings.timeouts, settings.models_cache_ttl, settings.answer_limits)
    reprober = Reprober(pools, transport, store, clock, engine.bench_seconds, settings.answer_limits)
    resolver = Resolver(settings, models)
    catalog = CatalogRoutes(pools, models, tuple(settings.aliases))
    reloader = Reloader(settings, keys, resolver, catalog, load, spread_reload)
    routes = [
        group.routes()
        for group in (
            CompletionRoutes(settings, router, resolver),
            MessagesRoutes(settings, router, resolver),
            ResponsesRoutes(settings, router, resolver, store, clock),
            catalog,
            AdminRoutes(keys, store, clock, router.holds, proxy_health),
            KeyRoutes(keys, transport, settings.answer_limits.body_bytes),
            reloader,
            UsageRoutes(pools, store, clock, prices),
            ActivityRoutes(pools, activity, clock),
            UiRoutes(),
            OpenAPIRoutes(),
        )
    ]
    if metrics is not None:
        routes.append(MetricsRoutes(metrics, watch, pools, store, clock, public=settings.metrics_public).routes())
    return KeyproxyApp(
        ProxyKey(settings.proxy_api_key, clock, settings.auth_failure_pause),
        routes,
        cors=CorsPolicy(settings.cors_origins, keyed=settings.proxy_api_key is not None),
        admin_key=ProxyKey(settings.admin_api_key, clock, settings.auth_failure_pause, "admin key"),
        reload=reloader.reload,
        background=(reprober.run, accounts.run),
        startup=(partial(store.start, clock), *([capture.writer.start] if capture else [])),
        shutdown=(
            store.stop, transport.aclose, *((access.stop,) if access else ()),
            *([capture.writer.stop] if capture else []),
        ),
        watch=watch,
        capture=capture,
    )


_SEVERAL_WORKERS = (
    "keys cannot be changed at run time while several workers serve: each would keep its own list. Change them "
    "in .env or the config file and reload (SIGHUP or POST /v1/admin/reload; docs/scaling.md)"
)


def _keys(settings: Settings, fingerprints: Fingerprinter, accounts: Accounts) -> KeyRing:
    """The configured keys with the changes made at run time, saved in the data dir unless state is kept in
    memory only (docs/security.md)."""
    path = None if settings.state.backend == "memory" else settings.data_dir / FILE_NAME
    configured = {name: [c.secret for c in provider.credentials] for name, provider in settings.providers.items()}
    saved = read_key_changes(path, fingerprints, configured) if path else SavedChanges({}, outdated=False)
    locked = _SEVERAL_WORKERS if settings.workers > 1 else None
    keys = KeyRing(settings.providers, saved.changes, settings.rotation_tolerance, path, fingerprints, locked, accounts)
    if keys.stale or saved.outdated:
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


def _state(settings: Settings, keys: KeyRing, prices: PriceTable) -> StateStore:
    """SQLite in the data dir by default. With KEYPROXY_REDIS_URL, Redis holds the shared state and usage
    sums and the local store stands in for it during an outage; the local store keeps this instance's
    durable usage history either way. Both move state kept under unkeyed key ids at start."""
    config = settings.state
    renames = key_renames(keys.secrets(), keys.fingerprints)
    moves = Rekey(renames, partial(rekeyed, renames=renames))
    local: StateStore
    if config.backend == "memory":
        local = MemoryStore(UsageBook(prices))
    else:
        # Keys added at run time and disabled keys count as configured: their state is kept.
        local = SqliteStore(
            settings.data_dir / "keyproxy.db", UsageBook(prices), interval=config.flush_interval,
            retention_days=config.retention_days, grace_seconds=config.prune_grace_days * 86400,
            configured=set(keys.known_ids()), rekey=moves,
        )  # fmt: skip
    if config.redis_url is None:
        return local
    from keyproxy.state.redis_store import RedisStore

    return RedisStore(
        config.redis_url, local, interval=config.flush_interval, retention_days=config.retention_days, price=prices,
        response_ttl=config.responses_retention_days * 86400.0, prefix=config.redis_prefix, rekey=moves,
    )
