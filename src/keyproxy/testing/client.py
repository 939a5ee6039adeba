"""AppClient: requests to an ASGI app in memory from synchronous code, with the app's lifespan around them."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlencode

from keyproxy.testing._asgi import ASGIApp
from keyproxy.testing.exchange import Body, Lifespan, Response, request

T = TypeVar("T")


class AppClient:
    """`with AppClient(app) as client: client.post("/v1/chat/completions", json=...)`, without sockets.

    The app starts (its lifespan startup) when the block opens and stops when it closes. One event loop
    serves the whole block, so the app keeps its state and connections from one request to the next; the
    loop runs only during a call, so the app's background jobs stand still in between. `headers` go with
    every request; a request's own headers override them (names compared without case).
    """

    def __init__(self, app: ASGIApp, *, headers: Mapping[str, str] | None = None, lifespan: bool = True) -> None:
        self.app = app
        self.headers = {name.lower(): value for name, value in (headers or {}).items()}
        self._lifespan = Lifespan(app) if lifespan else None
        self._runner: asyncio.Runner | None = None

    def __enter__(self) -> AppClient:
        self._runner = asyncio.Runner()
        try:
            if self._lifespan is not None:
                self.run(self._lifespan.startup())
        except BaseException:
            self._close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._lifespan is not None and self._runner is not None:
                self.run(self._lifespan.shutdown())
        finally:
            self._close()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the client's loop: an Exchange that disconnects midway, say."""
        if self._runner is None:
            coroutine.close()
            raise RuntimeError("an AppClient sends requests only inside its `with` block")
        return self._runner.run(coroutine)

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Body = b"",
        json: object = None,
        params: Mapping[str, str] | None = None,
    ) -> Response:
        if params:
            path += ("&" if "?" in path else "?") + urlencode(params)
        sent = {**self.headers, **{name.lower(): value for name, value in (headers or {}).items()}}
        return self.run(request(self.app, method, path, headers=sent, body=body, json=json))

    def get(
        self, path: str, *, headers: Mapping[str, str] | None = None, params: Mapping[str, str] | None = None
    ) -> Response:
        return self.request("GET", path, headers=headers, params=params)

    def post(
        self,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Body = b"",
        json: object = None,
        params: Mapping[str, str] | None = None,
    ) -> Response:
        return self.request("POST", path, headers=headers, body=body, json=json, params=params)

    def delete(self, path: str, *, headers: Mapping[str, str] | None = None) -> Response:
        return self.request("DELETE", path, headers=headers)

    def _close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.close()
