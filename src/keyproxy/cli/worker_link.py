"""A worker's ties to its supervisor (cli/supervise.py): the listening socket it inherits, and a channel on which
it says it is ready and notices that the supervisor is gone."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass

READY = b"r"
RELOAD = b"h"
"""A worker asks the supervisor to reload the other workers (it reloaded itself)."""


@dataclass(frozen=True, slots=True)
class WorkerLink:
    """`index` counts from 1 and stays with the slot across restarts, so a restarted worker goes on writing the
    same log file."""

    index: int
    listener_fd: int
    channel_fd: int

    def arguments(self) -> list[str]:
        """What `keyproxy serve` is given to run as this worker (hidden flags, cli/main.py)."""
        return [
            "--worker-index", str(self.index),
            "--worker-listener", str(self.listener_fd),
            "--worker-channel", str(self.channel_fd),
        ]  # fmt: skip

    @property
    def log_file(self) -> str:
        # One file per worker: a rotating file handler in each of several processes would rename the file
        # under the others.
        return f"keyproxy-worker-{self.index}.log"

    def listener(self) -> socket.socket:
        """The supervisor's listening socket; every worker accepts from its one queue."""
        return socket.socket(fileno=self.listener_fd)

    def channel(self) -> Channel:
        return Channel(socket.socket(fileno=self.channel_fd))


class Channel:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def ready(self) -> None:
        """Tell the supervisor this worker serves: the application started and the socket is adopted."""
        self._sock.sendall(READY)

    def reload_others(self) -> None:
        self._sock.sendall(RELOAD)

    def watch(self, gone: Callable[[], None]) -> None:
        """Call `gone` when the supervisor's end closes (it died, even by SIGKILL): a worker never outlives it."""
        loop = asyncio.get_running_loop()
        self._sock.setblocking(False)

        def readable() -> None:
            try:
                data = self._sock.recv(64)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                loop.remove_reader(self._sock.fileno())
                gone()

        loop.add_reader(self._sock.fileno(), readable)
