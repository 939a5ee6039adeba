"""The ASGI application: lifespan, authentication, routing by exact path, errors in OpenAI's shape."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from keyproxy.api.admin import AdminRoutes
from keyproxy.api.anthropic_errors import send_anthropic_error
from keyproxy.api.asgi import Receive, Scope, Send, header, send_error
from keyproxy.api.catalog import MODELS_PREFIX, CatalogRoutes, health
from keyproxy.api.chat import CompletionRoutes
from keyproxy.api.messages import MessagesRoutes
from keyproxy.api.usage_routes import UsageRoutes
from keyproxy.errors import AuthenticationFailed, KeyproxyError, NotFound
from keyproxy.transport.base import Transport

logger = logging.getLogger("keyproxy.api")

Handler = Callable[[Scope, Receive, Send], Awaitable[None]]


class KeyproxyApp:
    """`startup` and `shutdown` run in order when the application starts and stops (the state store opens
    and flushes there); `background` jobs run in between and are cancelled first at shutdown."""

    def __init__(
        self,
        proxy_key: str | None,
        completions: CompletionRoutes,
        catalog: CatalogRoutes,
        admin: AdminRoutes,
        messages: MessagesRoutes,
        usage: UsageRoutes,
        transport: Transport,
        background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
        startup: Sequence[Callable[[], Awaitable[None]]] = (),
        shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        self.transport = transport
        self.background = background
        self.startup = startup
        self.shutdown = shutdown
        self._tasks: list[asyncio.Task[None]] = []
        self._key = proxy_key.encode() if proxy_key else None
        self._bearer = b"Bearer " + self._key if self._key else None
        routes: dict[tuple[str, str], Handler] = {
            ("POST", "/v1/chat/completions"): completions.chat,
            ("POST", "/v1/embeddings"): completions.embeddings,
            ("GET", "/v1/models"): catalog.list_models,
            ("GET", "/v1/providers"): catalog.providers,
            ("POST", "/v1/messages"): messages.messages,
            ("POST", "/v1/messages/count_tokens"): messages.count_tokens,
            ("GET", "/v1/status"): admin.status,
            ("GET", "/v1/usage"): usage.usage,
            ("POST", "/v1/cost-estimate"): usage.cost_estimate,
            ("POST", "/v1/token-count"): usage.token_count,
            ("POST", "/v1/admin/reset"): admin.reset,
        }
        # Clients configured with a base URL lacking /v1 call the bare paths.
        self.routes = {**routes, **{(method, path[3:]): h for (method, path), h in routes.items()}}
        self.get_model = catalog.get_model
        self.public: dict[tuple[str, str], Handler] = {("GET", "/health"): health, ("GET", "/v1/health"): health}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = (scope["method"], scope["path"])
        try:
            public = self.public.get(key)
            if public is not None:
                await public(scope, receive, send)
                return
            self._authenticate(scope)
            handler = self.routes.get(key) or self._fallback(scope)
            await handler(scope, receive, send)
        except KeyproxyError as error:
            # Anthropic's clients read errors in Anthropic's shape, everyone else in OpenAI's.
            anthropic = scope["path"].startswith(("/v1/messages", "/messages"))
            await (send_anthropic_error if anthropic else send_error)(send, error)
        except Exception:
            logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            await send_error(send, KeyproxyError("internal error in keyproxy; see its log"))

    def _fallback(self, scope: Scope) -> Handler:
        path: str = scope["path"]
        if scope["method"] == "GET" and path.startswith(MODELS_PREFIX) and len(path) > len(MODELS_PREFIX):
            return self.get_model
        raise NotFound(f"no route for {scope['method']} {path}")

    def _authenticate(self, scope: Scope) -> None:
        if self._key is None:
            return
        bearer = header(scope, b"authorization")
        if bearer is not None and hmac.compare_digest(bearer, self._bearer or b""):
            return
        api_key = header(scope, b"x-api-key")
        if api_key is not None and hmac.compare_digest(api_key, self._key):
            return
        raise AuthenticationFailed("missing or invalid proxy key: send Authorization: Bearer <key> or x-api-key")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                for step in self.startup:
                    await step()
                self._tasks = [asyncio.create_task(job()) for job in self.background]
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for task in self._tasks:
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)
                for step in self.shutdown:
                    await step()
                await self.transport.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return
