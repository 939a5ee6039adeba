"""Wires settings into a running application: pools, transport, state, router, routes, background jobs."""

from __future__ import annotations

import random

from keyproxy.api.admin import AdminRoutes
from keyproxy.api.app import KeyproxyApp
from keyproxy.api.catalog import CatalogRoutes
from keyproxy.api.chat import CompletionRoutes
from keyproxy.api.messages import MessagesRoutes
from keyproxy.clock import Clock, SystemClock
from keyproxy.config.settings import Settings
from keyproxy.engine.cooldown import CooldownPolicy
from keyproxy.engine.events import EventSink, LogSink
from keyproxy.engine.model_list import ModelList
from keyproxy.engine.pool import Pool
from keyproxy.engine.reprobe import Reprober
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
    rng: random.Random | None = None,
) -> KeyproxyApp:
    if transport is None:
        from keyproxy.transport.aiohttp_transport import AiohttpTransport

        transport = AiohttpTransport()
    clock = clock or SystemClock()
    state = state or MemoryStore()
    engine = settings.engine
    pools = {name: Pool.build(provider, settings.rotation_tolerance) for name, provider in settings.providers.items()}
    cooldowns = CooldownPolicy(
        rate_limit_steps=engine.rate_limit_steps,
        quota_steps=engine.quota_steps,
        transient_steps=engine.transient_steps,
        bench_seconds=engine.bench_seconds,
        max_hint=engine.max_cooldown,
    )
    router = Router(
        pools, transport, state, clock, events or LogSink(), settings.timeouts,
        keepalive=settings.keepalive_interval, cooldowns=cooldowns, max_attempts=engine.max_attempts,
        transient_retry_delay=engine.transient_retry_delay, rng=rng,
    )  # fmt: skip
    models = ModelList(pools, transport, clock, settings.timeouts, settings.models_cache_ttl)
    reprober = Reprober(pools, transport, state, clock, engine.bench_seconds)
    return KeyproxyApp(
        settings.proxy_api_key,
        CompletionRoutes(settings, router),
        CatalogRoutes(pools, models, tuple(settings.aliases)),
        AdminRoutes(pools, state, clock),
        MessagesRoutes(settings, router),
        transport,
        background=(reprober.run,),
    )
