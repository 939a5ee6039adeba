"""`keyproxy serve`: load the settings once, then run the ASGI app under uvicorn (httptools, uvloop)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import math
import signal
import socket
import sys
from collections.abc import Callable, Generator

import uvicorn

from keyproxy.api.app import KeyproxyApp
from keyproxy.api.asgi import Receive, Scope, Send
from keyproxy.cli.bind import bind_problem
from keyproxy.cli.loading import load
from keyproxy.config import CliOptions, Settings, load_settings
from keyproxy.errors import KeyproxyError
from keyproxy.logs import configure_logging
from keyproxy.net import bind_socket
from keyproxy.wiring import build_app

logger = logging.getLogger("keyproxy")

AsgiApp = Callable[[Scope, Receive, Send], object]


def serve(options: CliOptions) -> int:
    try:
        loop_factory = _uvloop()
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(_serve(options))
    except KeyboardInterrupt:
        return 0


async def _serve(options: CliOptions) -> int:
    fake_server: uvicorn.Server | None = None
    fake_task: asyncio.Task[None] | None = None
    if options.demo:
        from keyproxy.testing import FakeUpstream

        fake_socket = bind_socket("127.0.0.1", 0)
        fake_server = _server(FakeUpstream(), "warning")
        fake_task = asyncio.create_task(fake_server.serve(sockets=[fake_socket]))
        port = fake_socket.getsockname()[1]
        options = dataclasses.replace(options, demo_base_url=f"http://127.0.0.1:{port}/v1")
    stop_logging: Callable[[], None] | None = None
    try:
        settings = _settings(options)
        if settings is None:
            return 2
        try:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            listener = bind_socket(settings.host, settings.port)
        except OSError as exc:
            sys.stderr.write(f"keyproxy: cannot start: {exc.strerror}: {exc.filename or settings.port}\n")
            return 1
        stop_logging = configure_logging(settings.log_level, settings.secrets(), settings.data_dir)
        for warning in settings.warnings:
            logger.warning("%s", warning)
        app = build_app(settings, load=functools.partial(load_settings, options))
        _announce(settings, listener)
        level = "debug" if settings.log_level == "DEBUG" else "warning"
        server = _server(app, level, settings.drain_seconds)
        _stop_on_signals(server)
        _reload_on_hangup(app)
        await server.serve(sockets=[listener])
        return 0
    finally:
        if fake_server is not None and fake_task is not None:
            fake_server.should_exit = True
            await fake_task
        if stop_logging is not None:
            stop_logging()


def _settings(options: CliOptions) -> Settings | None:
    settings = load(options)
    if settings is None:
        return None
    problem = bind_problem(settings.host, settings.proxy_api_key)
    if problem:
        sys.stderr.write(f"keyproxy: {problem}\n")
        return None
    return settings


def _announce(settings: Settings, listener: socket.socket) -> None:
    host, port = listener.getsockname()[:2]
    names = ", ".join(f"{n} ({len(p.credentials)} keys)" for n, p in settings.providers.items()) or "none"
    logger.info("keyproxy listening on http://%s:%s/v1 providers: %s", host, port, names)
    if not settings.proxy_api_key:
        logger.info("PROXY_API_KEY is not set: the proxy is open to anyone on this machine")


class _Server(uvicorn.Server):
    # uvicorn re-raises a captured SIGTERM after shutting down, which would end a clean stop with
    # status -15; keyproxy installs its own handlers instead (_stop_on_signals).
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _stop_on_signals(server: uvicorn.Server) -> None:
    """First SIGINT/SIGTERM: stop accepting and let open requests finish; a second one: stop at once."""
    loop = asyncio.get_running_loop()

    def stop() -> None:
        if server.should_exit:
            server.force_exit = True
        server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)


def _reload_on_hangup(app: KeyproxyApp) -> None:
    """SIGHUP reads .env and the config file again, as POST /v1/admin/reload does; the outcome goes to the log."""
    reload = app.reload
    if reload is None:
        return
    loop = asyncio.get_running_loop()
    running: set[asyncio.Task[None]] = set()

    async def run() -> None:
        try:
            await reload()
        except KeyproxyError as error:
            logger.error("%s", error.message)

    def hangup() -> None:
        # Held until done: the loop keeps only a weak reference to a task.
        task = loop.create_task(run())
        running.add(task)
        task.add_done_callback(running.discard)

    loop.add_signal_handler(signal.SIGHUP, hangup)


def _server(app: AsgiApp, log_level: str, drain: float = 5.0) -> uvicorn.Server:
    """`drain`: seconds requests in flight get to finish once a stop is asked for (whole seconds)."""
    config = uvicorn.Config(
        app, http="httptools", lifespan="on", access_log=False, log_config=None, log_level=log_level,
        server_header=False, timeout_graceful_shutdown=math.ceil(drain), backlog=2048,
    )  # fmt: skip
    return _Server(config)


def _uvloop() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
