"""The supervisor of `keyproxy serve --workers N` (docs/scaling.md).

It owns the listening socket and never imports the application: the workers inherit the socket
and accept from its one queue, so a connection waiting there is taken by whichever worker is alive and free.
The supervisor starts the workers, restarts one that dies (cli/restarts.py), passes SIGTERM, SIGINT and
SIGHUP on, and says the proxy is listening once every worker has said it is ready.
"""

from __future__ import annotations

import functools
import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from keyproxy.cli.launch import announce
from keyproxy.cli.restarts import RestartPolicy
from keyproxy.cli.worker_link import READY, RELOAD, WorkerLink
from keyproxy.config import Settings
from keyproxy.logs import configure_logging
from keyproxy.net import bind_socket

logger = logging.getLogger("keyproxy")

BACKLOG = 2048
"""As the single process's server asks for (cli/serve.py)."""

_STOPPED_BY_US = frozenset({0, -signal.SIGTERM, -signal.SIGINT})


def supervise(settings: Settings, command: Sequence[str]) -> int:
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        listener = bind_socket(settings.host, settings.port)
        listener.listen(BACKLOG)
    except OSError as exc:
        sys.stderr.write(f"keyproxy: cannot start: {exc.strerror}: {exc.filename or settings.port}\n")
        return 1
    stop_logging = configure_logging(settings.log_level, settings.secrets(), settings.data_dir)
    try:
        for warning in settings.warnings:
            logger.warning("%s", warning)
        ready = functools.partial(announce, settings, listener, settings.workers)
        return Supervisor(command, listener, settings.workers, ready).run()
    finally:
        listener.close()
        stop_logging()


@dataclass(slots=True)
class _Slot:
    """One worker's place: its index stays, the process in it is replaced when it dies."""

    index: int
    process: subprocess.Popen[bytes] | None = None
    channel: socket.socket | None = None
    started_at: float = 0.0
    ready: bool = False
    restart_at: float | None = None
    streak: int = 0


class Supervisor:
    """Starts `count` workers on `listener`, calls `ready` once all of them serve, and runs until they stopped."""

    def __init__(
        self, command: Sequence[str], listener: socket.socket, count: int, ready: Callable[[], None],
        policy: RestartPolicy | None = None,
    ) -> None:  # fmt: skip
        self._command = list(command)
        self._listener = listener
        self._on_ready = ready
        self._policy = policy or RestartPolicy()
        self._slots = [_Slot(index) for index in range(1, count + 1)]
        self._selector = selectors.DefaultSelector()
        self._signals: list[int] = []
        self._stopping = False
        self._serving = False
        self._status = 0

    def run(self) -> int:
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        self._selector.register(wake_read, selectors.EVENT_READ)
        previous = signal.set_wakeup_fd(wake_write)
        handled = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD)
        handlers = {sig: signal.signal(sig, self._noted) for sig in handled}
        try:
            for slot in self._slots:
                self._spawn(slot)
            while not (self._stopping and not self._alive()):
                self._wait(wake_read)
                self._take_signals()
                self._reap()
                self._restart_due()
            return self._status
        finally:
            signal.set_wakeup_fd(previous)
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            for slot in self._slots:
                if slot.process is not None and slot.process.poll() is None:
                    slot.process.kill()
                    slot.process.wait()
            os.close(wake_read)
            os.close(wake_write)

    def _noted(self, sig: int, _frame: object) -> None:
        self._signals.append(sig)

    def _spawn(self, slot: _Slot) -> None:
        ours, theirs = socket.socketpair()
        link = WorkerLink(slot.index, self._listener.fileno(), theirs.fileno())
        slot.process = subprocess.Popen(  # noqa: S603 (our own interpreter and command line)
            [*self._command, *link.arguments()], pass_fds=(self._listener.fileno(), theirs.fileno()),
            # Its own process group: a Ctrl-C in the terminal reaches the supervisor only, which passes it on
            # once (a second SIGINT would stop a worker at once, cutting the requests it is finishing).
            process_group=0,
        )  # fmt: skip
        theirs.close()
        ours.setblocking(False)
        slot.channel = ours
        slot.started_at = time.monotonic()
        slot.ready = False
        slot.restart_at = None
        self._selector.register(ours, selectors.EVENT_READ, slot)

    def _wait(self, wake_read: int) -> None:
        pending = [slot.restart_at for slot in self._slots if slot.restart_at is not None]
        timeout = max(0.0, min(pending) - time.monotonic()) if pending else None
        for key, _ in self._selector.select(timeout):
            if key.fileobj == wake_read:
                while True:
                    try:
                        if not os.read(wake_read, 512):
                            break
                    except BlockingIOError:
                        break
            else:
                self._heard(key.data)

    def _heard(self, slot: _Slot) -> None:
        assert slot.channel is not None
        try:
            data = slot.channel.recv(64)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if READY in data and not slot.ready:
            slot.ready = True
            if not self._serving and all(other.ready for other in self._slots):
                self._serving = True
                self._on_ready()
        if RELOAD in data:
            self._reload(others_than=slot)
        if not data:
            self._selector.unregister(slot.channel)

    def _take_signals(self) -> None:
        while self._signals:
            sig = self._signals.pop(0)
            if sig == signal.SIGHUP:
                self._reload()
            elif sig in (signal.SIGTERM, signal.SIGINT):
                self._stop(sig)

    def _reload(self, others_than: _Slot | None = None) -> None:
        """A worker still starting reads the configuration as it is; SIGHUP before its handler would end it."""
        ready = [slot for slot in self._slots if slot.ready and slot is not others_than]
        logger.info("reloading the configuration in %d workers", len(ready))
        for slot in ready:
            self._send(slot, signal.SIGHUP)

    def _stop(self, sig: int) -> None:
        """The first stop lets the workers finish what they serve; a second one stops them at once."""
        if not self._stopping:
            logger.info("stopping the workers: requests in flight finish first")
        self._stopping = True
        for slot in self._slots:
            slot.restart_at = None
            self._send(slot, sig)

    def _send(self, slot: _Slot, sig: int) -> None:
        if slot.process is not None and slot.process.poll() is None:
            slot.process.send_signal(sig)

    def _reap(self) -> None:
        for slot in self._slots:
            if slot.process is None or slot.process.poll() is None:
                continue
            status = slot.process.returncode
            self._close(slot)
            if self._stopping:
                if status not in _STOPPED_BY_US and self._status == 0:
                    self._status = 1
            elif not self._serving:
                logger.error("worker %d exited with status %s before it was ready; stopping", slot.index, status)
                self._status = status if status > 0 else 1
                self._stop(signal.SIGTERM)
            else:
                restart = self._policy.after_exit(slot.streak, time.monotonic() - slot.started_at)
                slot.streak = restart.streak
                slot.restart_at = time.monotonic() + restart.delay
                logger.warning(
                    "worker %d exited with status %s; starting it again in %.1f s", slot.index, status,
                    restart.delay,
                )  # fmt: skip

    def _close(self, slot: _Slot) -> None:
        if slot.channel is not None:
            if slot.channel in self._selector.get_map():
                self._selector.unregister(slot.channel)
            slot.channel.close()
        slot.process, slot.channel, slot.ready = None, None, False

    def _restart_due(self) -> None:
        now = time.monotonic()
        for slot in self._slots:
            if slot.restart_at is not None and slot.restart_at <= now and not self._stopping:
                self._spawn(slot)

    def _alive(self) -> bool:
        return any(slot.process is not None for slot in self._slots)
