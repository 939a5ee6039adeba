"""`keyproxy serve --workers N` as a user runs it: a real supervisor, real workers, Redis under a test's prefix.

A test steers which worker takes a connection by stopping the other (SIGSTOP): every worker accepts from the
supervisor's one socket, so a stopped worker takes nothing and the running one takes everything."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from support import KEYS, REDIS_URL

CHAT = {"model": "fake/fake-chat", "messages": [{"role": "user", "content": "hi there"}]}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(condition: Any, what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def process_state(pid: int) -> str | None:
    """The state letter of /proc/<pid>/stat (R, S, T, Z...), None once the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def children(pid: int) -> list[int]:
    """The live child processes of `pid`, oldest first."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return sorted(found)


def worker_index(pid: int) -> int:
    arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    return int(arguments[arguments.index(b"--worker-index") + 1])


@contextlib.contextmanager
def paused(pid: int) -> Iterator[None]:
    """The worker takes no connection until the block ends."""
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_until(lambda: process_state(pid) == "T", f"worker {pid} to stop")
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


class Supervised:
    """A supervisor started in `folder` with a .env naming provider `fake` over `base` and Redis under `prefix`;
    ready once its log says it listens (every worker has said it is ready)."""

    def __init__(
        self, folder: Path, base: str, prefix: str, flags: Sequence[str], extra: str = "", keys: Sequence[str] = KEYS
    ) -> None:
        self.port = free_port()
        self.folder = folder
        numbered = "".join(f"FAKE_API_KEY_{n}={key}\n" for n, key in enumerate(keys, start=1))
        (folder / ".env").write_text(
            f"FAKE_API_BASE={base}\n{numbered}ROTATION_TOLERANCE=0\nKEYPROXY_PORT={self.port}\n"
            f"KEYPROXY_FLUSH_INTERVAL=0.2\nKEYPROXY_REDIS_URL={REDIS_URL}\nKEYPROXY_REDIS_PREFIX={prefix}\n{extra}"
        )
        self.data = folder / "data"
        self.url = f"http://127.0.0.1:{self.port}"
        self._stderr = (folder / "stderr.txt").open("w")
        env = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "keyproxy", "serve", *flags], cwd=folder, env=env,
            stdout=subprocess.DEVNULL, stderr=self._stderr,
        )  # fmt: skip
        wait_until(self._listening, "the supervisor to say it listens", 40)

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"keyproxy ended with {self.process.returncode}: {self.stderr()}")
        log = self.data / "keyproxy.log"
        return log.exists() and "listening on" in log.read_text()

    def stderr(self) -> str:
        return (self.folder / "stderr.txt").read_text()

    def workers(self) -> list[int]:
        return children(self.process.pid)

    def worker_log(self, index: int) -> str:
        path = self.data / f"keyproxy-worker-{index}.log"
        return path.read_text() if path.exists() else ""

    def chat(self, **options: Any) -> httpx.Response:
        """On a new connection each time, so whichever worker is free takes it."""
        return httpx.post(self.url + "/v1/chat/completions", json={**CHAT, **options}, timeout=20)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self.wait()

    def wait(self) -> int:
        try:
            return self.process.wait(timeout=30)
        finally:
            self._stderr.close()

    def kill_all(self) -> None:
        """Whatever a failed test left running: the workers first, then the supervisor."""
        for pid in self.workers():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
        self.wait()
