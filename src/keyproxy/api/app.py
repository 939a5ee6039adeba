"""The ASGI application: lifespan, authentication, routing by exact path, each error in its route's dialect."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from keyproxy.api.asgi import Message, Receive, Scope, Send, header, send_bytes
from keyproxy.api.auth import ProxyKey
from keyproxy.api.cors import CorsPolicy, is_preflight
from keyproxy.api.dialect import Dialect
from keyproxy.api.openai_dialect import OPENAI
from keyproxy.api.route import RECORD, Route, RouteTable
from keyproxy.errors import KeyproxyError, NotFound, OriginNotAllowed, ShuttingDown
from keyproxy.events import RequestRecord, RequestWatch

if TYPE_CHECKING:
    from keyproxy.api.capture import CaptureHook

logger = logging.getLogger("keyproxy.api")


class KeyproxyApp:
    """`startup` and `shutdown` run in order when the application starts and stops (the state store opens
    and flushes there); `background` jobs run in between and are cancelled first at shutdown."""

    def __init__(
        self,
        proxy_key: ProxyKey,
        routes: Iterable[RouteTable],
        *,
        cors: CorsPolicy | None = None,
        admin_key: ProxyKey | None = None,
        reload: Callable[[], Awaitable[object]] | None = None,
        background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
        startup: Sequence[Callable[[], Awaitable[None]]] = (),
        shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
        watch: RequestWatch | None = None,
        capture: CaptureHook | None = None,
    ) -> None:
        self.background = background
        self.startup = startup
        self.shutdown = shutdown
        self._tasks: list[asyncio.Task[None]] = []
        self._capture = capture
        self._key = proxy_key
        self._admin = admin_key if admin_key is not None and admin_key.required else None
        self.reload = reload
        """Re-reads the configuration files and applies what changed (SIGHUP); None when built without them."""
        self._cors = cors or CorsPolicy(None, keyed=proxy_key.required)
        table = {where: route for group in routes for where, route in group.items()}
        # Clients configured with a base URL lacking /v1 call the bare paths.
        bare = {(method, path[3:]): route for (method, path), route in table.items() if path.startswith("/v1/")}
        self.routes: dict[tuple[str, str], Route] = {**table, **bare}
        self._prefixed = [(method, path, route) for (method, path), route in self.routes.items() if route.prefix]
        self._labels = {(method, path): path for method, path in table}
        self._labels.update({(method, path[3:]): path for method, path in table if path.startswith("/v1/")})
        self.watch = watch or RequestWatch()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if self._capture is None:
                await self._http(scope, receive, send)
            else:
                await self._capture(scope, receive, send, self._http)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        where = (scope["method"], scope["path"])
        route = self.routes.get(where)
        if route is not None:
            label = self._labels[where]
        else:
            route, label = self._by_prefix(scope)
        record = RequestRecord(where[0], where[1], scope.get("client"), label, time.perf_counter())
        scope[RECORD] = record
        response = _Response(send, record)
        watch = self.watch
        watch.in_flight += 1
        try:
            origin = header(scope, b"origin")
            if origin is not None:
                # Before authentication: a page's preflight carries no key, and a refused page touches nothing.
                if not self._cors.allows(origin, scope):
                    raise OriginNotAllowed(f"requests from {origin.decode('latin-1')} are not allowed here")
                if is_preflight(scope):
                    await send_bytes(response, 204, b"", extra=self._cors.preflight(origin, scope))
                    return
                response.extra = self._cors.headers(origin)
            if route is None or not route.public:
                # With an admin key, the proxy key no longer opens the admin routes.
                key = self._admin if self._admin is not None and route is not None and route.admin else self._key
                if not key.accepts(scope):
                    raise await key.refuse(scope)
            if route is None:
                raise NotFound(f"no route for {scope['method']} {scope['path']}")
            await route.handler(scope, receive, response)
        except KeyproxyError as error:
            if error.tried is not None:
                record.note_tried(error.tried)
            await response.fail(route.dialect if route else self._dialect_of(scope["path"]), error)
        except asyncio.CancelledError:
            # The server is stopping and the drain time ran out; a stream has already said so itself.
            if not response.started:
                stopping = ShuttingDown("keyproxy is shutting down; retry the request")
                await (route.dialect if route else OPENAI).send_error(response, stopping)
            raise
        except Exception:
            logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            internal = KeyproxyError("internal error in keyproxy; see its log")
            await response.fail(route.dialect if route else OPENAI, internal)
        finally:
            watch.in_flight -= 1
            if not response.started:
                record.status = 499  # the client left, or the server stopped, before an answer: nginx's number
            record.close(time.perf_counter() - record.started, time.time())
            watch.finished(record)

    def _by_prefix(self, scope: Scope) -> tuple[Route | None, str]:
        """The route whose path `scope`'s extends, and its label (`/v1/models/{id}`); else None, "none"."""
        method, path = scope["method"], scope["path"]
        for prefix_method, prefix, route in self._prefixed:
            if method == prefix_method and path.startswith(prefix) and len(path) > len(prefix):
                return route, self._labels[(method, prefix)] + "{id}"
        return None, "none"

    def _dialect_of(self, path: str) -> Dialect:
        """For a path no route serves: the dialect of the longest route path it extends (a client of
        /v1/messages reads a 404 of /v1/messages/batches in Anthropic's shape), else OpenAI's."""
        found: Dialect = OPENAI
        length = 0
        for (_, route_path), route in self.routes.items():
            if len(route_path) > length and path.startswith(route_path.rstrip("/") + "/"):
                found, length = route.dialect, len(route_path)
        return found

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                for step in self.startup:
                    await step()
                self._tasks = [asyncio.create_task(job()) for job in self.background]
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await _cancelled(self._tasks)
                for step in self.shutdown:
                    await step()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _cancelled(tasks: Sequence[asyncio.Task[None]]) -> None:
    """Cancel each task until it has ended: on Python 3.11 a cancel can be lost in asyncio.wait_for (which redis-py
    uses) when the call it waits on ends at that moment (python/cpython#86296), and the job would run on."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.1)
    # Retrieved, so a job that failed is not reported again as "never retrieved" when collected.
    await asyncio.gather(*tasks, return_exceptions=True)


class _Response:
    """The handler's `send`, remembering what went out, so an error after the response started never
    starts a second one: a stream ends with the dialect's error event, anything else is left cut."""

    __slots__ = ("ended", "extra", "last", "record", "send", "started", "streaming")

    def __init__(self, send: Send, record: RequestRecord) -> None:
        self.send = send
        self.record = record
        self.started = False
        self.streaming = False
        self.ended = False
        self.last = b"\n\n"
        self.extra: list[tuple[bytes, bytes]] = []
        """Headers every answer gets (CORS)."""

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            if self.extra:
                message["headers"] = [*message["headers"], *self.extra]
            self.started = True
            self.record.status = message["status"]
            self.streaming = any(
                name == b"content-type" and value.startswith(b"text/event-stream") for name, value in message["headers"]
            )
        elif message.get("more_body", False):
            self.last = message.get("body", b"") or self.last
        else:
            self.ended = True
        await self.send(message)

    async def fail(self, dialect: Dialect, error: KeyproxyError) -> None:
        if not self.started:
            await dialect.send_error(self, error)
            return
        logger.error("error after the response started, ending it: %s", error.message)
        if self.streaming and not self.ended:
            separator = b"" if self.last.endswith(b"\n\n") else b"\n\n"
            event = separator + dialect.error_event(error)
            await self.send({"type": "http.response.body", "body": event, "more_body": True})
            await self.send({"type": "http.response.body", "body": b""})
