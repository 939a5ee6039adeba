"""Writes ended exchanges to the daily capture files from one thread, never from the event loop.

The event loop only queues an exchange; encoding, scrubbing and the disk are the thread's. A full queue
or disk drops the exchange and counts it (the first drop is logged): capture never slows or fails a
request. Files are owner-only (bodies hold what users sent); days past the retention and, past the
total size cap, the oldest days are deleted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from pathlib import Path

from keyproxy.capture.exchange import Exchange
from keyproxy.capture.files import FOLDER, day_files, day_of, file_for
from keyproxy.capture.record import Cleaner, encode

logger = logging.getLogger("keyproxy.capture")


class CaptureWriter:
    """`put` from the event loop; `start` and `stop` are the app's lifespan steps (stop writes what is queued)."""

    def __init__(
        self, data_dir: Path, secrets: Callable[[], Iterable[str]], *, retention_days: int, max_total_bytes: int,
        queue_size: int = 256,
    ) -> None:  # fmt: skip
        self.folder = data_dir / FOLDER
        self.retention_days = retention_days
        self.max_total_bytes = max_total_bytes
        self.written = 0
        self._secrets = secrets
        self._cleaner = Cleaner(())
        self._known: tuple[str, ...] = ()
        self._queue: queue.Queue[Exchange | None] = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self._queue_drops = 0
        self._write_drops = 0
        self._warned = False
        self._day = ""
        self._fd: int | None = None
        self._sizes: dict[str, int] = {}
        self._cut_line = False

    @property
    def dropped(self) -> int:
        return self._queue_drops + self._write_drops

    def put(self, exchange: Exchange) -> None:
        try:
            self._queue.put_nowait(exchange)
        except queue.Full:
            self._queue_drops += 1
            self._warn("the capture queue is full: the disk is slower than the requests")

    async def start(self) -> None:
        self.open()

    async def stop(self) -> None:
        await asyncio.to_thread(self.close)

    def open(self) -> None:
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.folder.chmod(0o700)
            self._sizes = {day: path.stat().st_size for day, path in day_files(self.folder)}
        except OSError as error:
            self._warn(f"cannot use {self.folder}: {error.strerror}")
        self._thread = threading.Thread(target=self._run, name="keyproxy-capture", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join()
        self._thread = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd, self._day = None, ""
        if self.dropped:
            logger.warning("request capture dropped %d exchanges", self.dropped)

    def _run(self) -> None:
        while (exchange := self._queue.get()) is not None:
            self._write(exchange)

    def _write(self, exchange: Exchange) -> None:
        try:
            line = encode(exchange, self._current_cleaner())
        except Exception:
            logger.exception("cannot encode captured exchange %s", exchange.id)
            self._write_drops += 1
            return
        day = day_of(exchange.started)
        try:
            if day != self._day or self._fd is None:
                self._switch(day)
            if not self._make_room(len(line)):
                self._write_drops += 1
                self._warn(f"the captures reached KEYPROXY_CAPTURE_MAX_TOTAL_BYTES ({self.max_total_bytes})")
                return
            assert self._fd is not None
            if self._cut_line:
                # A line the disk cut short ends here, so it spoils only itself.
                line = b"\n" + line
            written = os.write(self._fd, line)
            self._sizes[day] = self._sizes.get(day, 0) + written
            self._cut_line = written < len(line)
            if self._cut_line:
                raise OSError(28, "No space left on device")
            self.written += 1
        except OSError as error:
            self._write_drops += 1
            self._warn(f"cannot write {file_for(self.folder, day)}: {error.strerror or error}")

    def _current_cleaner(self) -> Cleaner:
        secrets = tuple(self._secrets())
        if secrets != self._known:
            self._cleaner, self._known = Cleaner(secrets), secrets
        return self._cleaner

    def _switch(self, day: str) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        path = file_for(self.folder, day)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(self._fd, 0o600)
        self._day = day
        self._sizes.setdefault(day, 0)
        self._cut_line = False
        oldest = (date.fromisoformat(day) - timedelta(days=self.retention_days - 1)).isoformat()
        for old, old_path in day_files(self.folder):
            if old < oldest:
                self._delete(old, old_path)

    def _make_room(self, size: int) -> bool:
        """Delete the oldest days until `size` more bytes fit; False if they do not fit even then."""
        if sum(self._sizes.values()) + size <= self.max_total_bytes:
            return True
        for old, old_path in day_files(self.folder):
            if sum(self._sizes.values()) + size <= self.max_total_bytes:
                break
            if old != self._day:
                self._delete(old, old_path)
        return sum(self._sizes.values()) + size <= self.max_total_bytes

    def _delete(self, day: str, path: Path) -> None:
        path.unlink(missing_ok=True)
        self._sizes.pop(day, None)

    def _warn(self, reason: str) -> None:
        if not self._warned:
            self._warned = True
            logger.warning("request capture is dropping exchanges: %s (said once; the count comes at exit)", reason)
