"""`keyproxy serve`: one process, or a supervisor of several (cli/supervise.py), as the settings ask."""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Sequence

from keyproxy.cli.bind import bind_problem
from keyproxy.cli.loading import load
from keyproxy.cli.worker_link import WorkerLink
from keyproxy.config import CliOptions, Settings

logger = logging.getLogger("keyproxy")


def start(options: CliOptions, arguments: Sequence[str], worker: WorkerLink | None) -> int:
    """`arguments`: the command line as given, which each worker is started with too."""
    if worker is not None:
        from keyproxy.cli.serve import serve

        return serve(options, worker)
    settings = checked_settings(options)
    if settings is None:
        return 2
    if settings.workers == 1:
        from keyproxy.cli.serve import serve

        return serve(options)
    from keyproxy.cli.supervise import supervise

    return supervise(settings, [sys.executable, "-m", "keyproxy", *arguments])


def checked_settings(options: CliOptions) -> Settings | None:
    """The settings, or None once every problem was said on stderr (exit status 2)."""
    settings = load(options)
    if settings is None:
        return None
    problem = bind_problem(settings.host, settings.proxy_api_key)
    if problem:
        sys.stderr.write(f"keyproxy: {problem}\n")
        return None
    return settings


def announce(settings: Settings, listener: socket.socket, workers: int = 1) -> None:
    """The line that says the proxy is ready: the address it serves, and with what."""
    host, port = listener.getsockname()[:2]
    names = ", ".join(f"{n} ({len(p.credentials)} keys)" for n, p in settings.providers.items()) or "none"
    processes = f" ({workers} workers)" if workers > 1 else ""
    logger.info("keyproxy listening on http://%s:%s/v1%s providers: %s", host, port, processes, names)
    if not settings.proxy_api_key:
        logger.info("PROXY_API_KEY is not set: the proxy is open to anyone on this machine")
