"""The supervisor: light (it never builds the application), ready once every worker is, stopped by a worker
that cannot start. Stand-in workers here; the real ones are in test_workers.py."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from keyproxy.cli.supervise import Supervisor


def test_the_supervisor_imports_no_server_no_upstream_client_and_no_application() -> None:
    code = (
        "import sys\n"
        "import keyproxy.cli.main, keyproxy.cli.launch, keyproxy.cli.supervise\n"
        "heavy = ('uvicorn', 'aiohttp', 'redis', 'keyproxy.wiring', 'keyproxy.api', 'keyproxy.state')\n"
        "print(sorted(name for name in sys.modules if name.startswith(heavy)))\n"
    )

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30)

    assert result.stdout.strip() == "[]"


# Stand-in workers: a few lines of Python that speak the supervisor's channel as a worker does.
REPORT_READY = """
import signal, socket, sys, pathlib
arguments = sys.argv
index = int(arguments[arguments.index("--worker-index") + 1])
channel = socket.socket(fileno=int(arguments[arguments.index("--worker-channel") + 1]))
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
marker = pathlib.Path(arguments[1])
while index == 2 and not marker.exists():
    signal.sigtimedwait([signal.SIGTERM], 0.01)
channel.sendall(b"r")
signal.sigwait([signal.SIGTERM])
"""


def listening() -> socket.socket:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    return listener


def test_ready_is_said_once_every_worker_is_ready_and_a_sigterm_stops_them_all(tmp_path: Path) -> None:
    marker = tmp_path / "worker-2-may-start"
    seen: list[bool] = []

    def ready() -> None:
        seen.append(marker.exists())
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Timer(0.2, marker.touch).start()
    with listening() as listener:
        status = Supervisor([sys.executable, "-c", REPORT_READY, str(marker)], listener, 2, ready).run()

    assert seen == [True]
    assert status == 0


def test_a_worker_that_ends_before_it_is_ready_stops_the_supervisor_with_its_status() -> None:
    seen: list[bool] = []
    with listening() as listener:
        status = Supervisor([sys.executable, "-c", "raise SystemExit(3)"], listener, 2, lambda: seen.append(True)).run()

    assert status == 3
    assert seen == []
