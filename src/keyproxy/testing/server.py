"""Running an ASGI app on a real socket: BackgroundServer in a thread, or `await serve_fake_upstream(...)`.

serve_fake_upstream is a coroutine that serves until cancelled (or SIGINT/SIGTERM in the main thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Collection, Sequence
from types import TracebackType
from typing import Literal

import uvicorn

from keyproxy.net import bind_socket
from keyproxy.testing._asgi import ASGIApp
from keyproxy.testing.fake_upstream import DEFAULT_MODELS, FakeUpstream


class BackgroundServer:
    """Serve `app` under uvicorn in a daemon thread with its own event loop; port 0 picks a free port.

    Requests still open at stop get `graceful_timeout` seconds to finish, then are cancelled.
    """

    def __init__(
        self,
        app: ASGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        lifespan: Literal["on", "off", "auto"] = "on",
        graceful_timeout: int = 1,
        start_timeout: float = 10.0,
    ) -> None:
        self._socket = bind_socket(host, port)
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        self._start_timeout = start_timeout
        config = uvicorn.Config(
            app,
            lifespan=lifespan,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=graceful_timeout,
        )
        self._server = _Server(config)
        self._thread = threading.Thread(target=self._run, name=f"keyproxy-server-{self.port}", daemon=True)
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        self._thread.start()
        if not self._server.ready.wait(self._start_timeout):
            self.stop()
            raise RuntimeError(f"server on {self.url} did not start within {self._start_timeout} seconds")
        if not self._server.started:
            self._thread.join(self._start_timeout)
            self._socket.close()
            raise RuntimeError(f"server on {self.url} failed to start") from self._error

    def stop(self) -> None:
        if not self._thread.is_alive():
            self._socket.close()
            return
        self._server.exit_soon()
        self._thread.join((self._server.config.timeout_graceful_shutdown or 0) + 5.0)
        if self._thread.is_alive():
            # Skip waiting for connections and tasks; only a wedged app gets here.
            self._server.force_exit = True
            self._thread.join(5.0)
        self._socket.close()
        if self._thread.is_alive():
            raise RuntimeError(f"server on {self.url} did not stop")

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            with asyncio.Runner(loop_factory=self._server.config.get_loop_factory()) as runner:
                runner.run(self._server.serve(sockets=[self._socket]))
        except BaseException as exc:
            # uvicorn raises SystemExit when the app fails its startup; keep it for start() to report.
            self._error = exc
        finally:
            self._server.ready.set()


class _Server(uvicorn.Server):
    """A uvicorn server that says when it is listening, so starting waits on an event, not a poll, and that
    stops within milliseconds: uvicorn notices `should_exit` on a 0.1 s tick and then waits for connections
    in 0.1 s steps, which adds up over a test suite that starts and stops servers by the hundred."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exit = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets)
        self.ready.set()

    def exit_soon(self) -> None:
        """Ask the server to stop; safe from any thread."""
        self.should_exit = True
        loop = self._loop
        if loop is not None:
            # The loop may close between the check and the call; then the server has stopped already.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._exit.set)

    async def main_loop(self) -> None:
        ticks = 0
        while not await self.on_tick(ticks):
            ticks = (ticks + 1) % 864_000
            # Wake at once on exit_soon(); otherwise tick as uvicorn does (it refreshes its Date header).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit.wait(), 0.1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Stop accepting new connections.
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        # Idle connections close now; busy ones once their response is sent.
        for connection in list(self.server_state.connections):
            connection.shutdown()
        try:
            await asyncio.wait_for(self._drained(), self.config.timeout_graceful_shutdown)
        except TimeoutError:
            for task in self.server_state.tasks:
                task.cancel(msg="graceful shutdown timed out")
        if not self.force_exit:
            await self.lifespan.shutdown()

    async def _drained(self) -> None:
        # uvicorn signals neither the last connection closing nor the last task ending: poll, but finely.
        state = self.server_state
        while (state.connections or state.tasks) and not self.force_exit:  # noqa: ASYNC110
            await asyncio.sleep(0.005)


async def serve_fake_upstream(
    host: str, port: int, *, keys: Collection[str] | None = None, models: Sequence[str] = DEFAULT_MODELS
) -> None:
    upstream = FakeUpstream(keys=keys, models=models)
    config = uvicorn.Config(upstream, host=host, port=port, lifespan="on", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    serving = asyncio.ensure_future(server.serve())
    try:
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        # Shut down as on a signal, closing connections and the listening socket, then stay cancelled.
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await serving
        raise
