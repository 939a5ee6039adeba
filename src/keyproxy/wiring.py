"""Wires settings into a running application: pools, transport, state, router, routes, background jobs."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping

from keyproxy.api.admin import AdminRoutes
from keyproxy.api.app import KeyproxyApp
from keyproxy.api.catalog import CatalogRoutes
from keyproxy.api.chat import CompletionRoutes
from keyproxy.api.messages import MessagesRoutes
from keyproxy.api.usage_routes import UsageQuery, UsageRoutes
from keyproxy.clock import Clock, SystemClock
from keyproxy.config.settings import Settings
from keyproxy.engine.model_list import ModelList
from keyproxy.engine.pool import Pool
from keyproxy.engine.reprobe import Reprober
from keyproxy.engine.router import Router
from keyproxy.events import EventSink, LogSink, Sinks
from keyproxy.state.base import StateStore
from keyproxy.state.memory import MemoryStore
from keyproxy.state.sqlite_store import SqliteStore
from keyproxy.transport.base import Transport
from keyproxy.usage.book import UsageBook, UsageCounters, UsageKey, select
from keyproxy.usage.prices import PriceTable


def build_app(
    settings: Settings,
    *,
    transport: Transport | None = None,
    clock: Clock | None = None,
    state: StateStore | None = None,
    events: EventSink | None = None,
    rng: random.Random | None = None,
) -> KeyproxyApp:
    if transport is None:
        from keyproxy.transport.aiohttp_transport import AiohttpTransport

        transport = AiohttpTransport()
    clock = clock or SystemClock()
    engine = settings.engine
    pools = {name: Pool.build(provider, settings.rotation_tolerance) for name, provider in settings.providers.items()}
    prices = PriceTable(settings.state.prices)
    book = UsageBook(prices)
    startup: list[Callable[[], Awaitable[None]]] = []
    shutdown: list[Callable[[], Awaitable[None]]] = []
    sinks: list[EventSink] = [events or LogSink(), book]
    if state is None:
        state, query = _state(settings, pools, book, prices, clock, startup, shutdown, sinks)
    else:
        query = _pending(book)
    router = Router(
        pools, transport, state, clock, Sinks(*sinks), settings.timeouts, engine,
        keepalive=settings.keepalive_interval, rng=rng,
    )  # fmt: skip
    models = ModelList(pools, transport, clock, settings.timeouts, settings.models_cache_ttl)
    reprober = Reprober(pools, transport, state, clock, engine.bench_seconds)
    routes = (
        CompletionRoutes(settings, router),
        MessagesRoutes(settings, router),
        CatalogRoutes(pools, models, tuple(settings.aliases)),
        AdminRoutes(pools, state, clock),
        UsageRoutes(pools, state, clock, query, prices),
    )
    return KeyproxyApp(
        settings.proxy_api_key,
        [group.routes() for group in routes],
        background=(reprober.run,),
        startup=startup,
        shutdown=[*shutdown, transport.aclose],
    )


def _state(
    settings: Settings, pools: Mapping[str, Pool], book: UsageBook, prices: PriceTable, clock: Clock,
    startup: list[Callable[[], Awaitable[None]]], shutdown: list[Callable[[], Awaitable[None]]],
    sinks: list[EventSink],
) -> tuple[StateStore, UsageQuery]:  # fmt: skip
    """SQLite in the data dir by default: opened at startup, flushed every interval and at shutdown.
    With KEYPROXY_REDIS_URL, Redis holds the shared state and usage sums and the local store stands in
    for it during an outage; the local store keeps this instance's durable usage history either way."""
    config = settings.state
    local: SqliteStore | MemoryStore
    if config.backend == "memory":
        local, query = MemoryStore(), _pending(book)
    else:
        configured = {(name, key_id) for name, pool in pools.items() for key_id in pool.key_ids}
        local = SqliteStore(
            settings.data_dir / "keyproxy.db", book, interval=config.flush_interval,
            retention_days=config.retention_days, grace_seconds=config.prune_grace_days * 86400,
            configured=configured,
        )  # fmt: skip
        query = local.usage
    if config.redis_url is None:
        if isinstance(local, SqliteStore):
            sqlite = local
            startup.append(lambda: sqlite.start(clock))
            shutdown.append(sqlite.stop)
        return local, query
    from keyproxy.state.redis_store import RedisStore

    shared = RedisStore(
        config.redis_url, local, price=prices, interval=config.flush_interval,
        retention_days=config.retention_days,
    )  # fmt: skip
    sinks.append(shared)
    startup.append(lambda: shared.start(clock))  # starts the local store too
    shutdown.append(shared.stop)
    return shared, shared.usage


def _pending(book: UsageBook) -> UsageQuery:
    """Usage kept in memory only: what the book holds since start."""

    async def query(
        provider: str | None, model: str | None, since: str | None, until: str | None
    ) -> list[tuple[UsageKey, UsageCounters]]:
        return select(book.pending().items(), provider, model, since, until)

    return query
