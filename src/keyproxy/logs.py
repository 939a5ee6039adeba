"""Logging set-up: one line per event to stderr and a rotating file, written by a thread, never by the event loop.

Every configured secret is masked in each record as a last defence.
"""

from __future__ import annotations

import asyncio
import logging
import logging.handlers
import queue
import re
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from keyproxy.redact import scrub_text

_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def _escaped(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_control(text: str) -> str:
    """`text` with its control characters (line breaks included) written as escapes."""
    return _CONTROL.sub(_escaped, text)


class RedactSecrets(logging.Filter):
    """Masks any configured secret that slipped into a record (for example in an upstream's error text),
    in its message and in the traceback or stack it carries, in any encoding `redact` knows. Control
    characters in the message are escaped: a model name or path a client chose cannot forge a log line."""

    _format = logging.Formatter()

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = tuple(secret for secret in secrets if len(secret) >= 4)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = escape_control(scrub_text(message, self.secrets))
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text once set, so the traceback is formatted (and scrubbed) once, here.
            record.exc_text = self._format.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub_text(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = scrub_text(record.stack_info, self.secrets)
        return True


class _Formatter(logging.Formatter):
    """The usual prefix (time, level, logger), except on a line that is a whole document itself (a JSON
    access line), which is written as it is."""

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "bare", False):
            return record.getMessage()
        return super().format(record)


class _Listener(logging.handlers.QueueListener):
    """Also takes batches of deferred lines (`DeferredLines`): made here, on the logging thread, and written
    with one write per handler for the whole batch."""

    def __init__(self, records: queue.SimpleQueue[Any], secrets: tuple[str, ...], *handlers: logging.Handler) -> None:
        super().__init__(records, *handlers)
        self.secrets = secrets
        self._second = -1
        self._stamp = ""

    def handle(self, record: Any) -> None:
        if isinstance(record, logging.LogRecord):
            super().handle(record)
            return
        deferred, items = record
        build, name = deferred.build, deferred.logger
        if deferred.bare:
            lines = [build(item) for item in items]
        else:
            lines = [f"{self.stamp(item.at)} INFO {name}: {build(item)}" for item in items]
        # Each line escaped its own control characters: the line breaks between them must stay.
        text = scrub_text("\n".join(lines), self.secrets)
        batch = logging.LogRecord(name, logging.INFO, __file__, 0, text, None, None)
        batch.bare = True
        for handler in self.handlers:
            handler.handle(batch)

    def stamp(self, at: float) -> str:
        """`at` as the formatter's asctime writes it; the part to the second is made once a second."""
        second = int(at)
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        return f"{self._stamp},{int((at - second) * 1000):03d}"


_deferred: queue.SimpleQueue[Any] | None = None


class Timed(Protocol):
    @property
    def at(self) -> float:
        """Wall-clock time of what is logged."""
        ...


ItemT = TypeVar("ItemT", bound=Timed)


class DeferredLines(Generic[ItemT]):
    """Lines logged at info as `logger`, each made by `build(item)` (which escapes control characters) on
    the logging thread. On the event loop an item costs a list append: the items gathered are handed to
    the logging thread together, `every` seconds after the first of them (the loop's timer), so neither
    thread wakes the other per line. `bare` lines are written as they are, without time and level.
    Without `configure_logging` (a test, a host application) each line is logged at once."""

    __slots__ = ("_items", "bare", "build", "every", "logger")

    def __init__(self, logger: str, build: Callable[[ItemT], str], *, bare: bool = False, every: float = 0.1) -> None:
        self.logger = logger
        self.build = build
        self.bare = bare
        self.every = every
        self._items: list[ItemT] = []

    def add(self, item: ItemT) -> None:
        """`item` must not change afterwards: its line is made later, on another thread."""
        if _deferred is None:
            logging.getLogger(self.logger).info("%s", self.build(item))
            return
        self._items.append(item)
        if len(self._items) == 1:
            asyncio.get_running_loop().call_later(self.every, self.flush)

    def flush(self) -> None:
        """Hand what was gathered to the logging thread now."""
        items, self._items = self._items, []
        if not items:
            return
        if _deferred is None:
            for item in items:
                logging.getLogger(self.logger).info("%s", self.build(item))
            return
        _deferred.put((self, items))


def configure_logging(
    level: str, secrets: Iterable[str], log_dir: Path | None = None, file_name: str = "keyproxy.log"
) -> Callable[[], None]:
    """Route all logging through a queue to stderr (and `log_dir/file_name`); returns the flush-and-stop.

    A log file that cannot be opened (a read-only or full data dir) leaves logging on stderr, with one
    warning, rather than stopping the proxy."""
    global _deferred
    formatter = _Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    unwritable: OSError | None = None
    if log_dir is not None:
        try:
            handlers.append(
                logging.handlers.RotatingFileHandler(
                    log_dir / file_name, maxBytes=10 * 1024 * 1024, backupCount=3, encoding="utf-8"
                )
            )
        except OSError as error:
            unwritable = error
    for handler in handlers:
        handler.setFormatter(formatter)
    records: queue.SimpleQueue[Any] = queue.SimpleQueue()
    redact = RedactSecrets(secrets)
    enqueue = logging.handlers.QueueHandler(records)
    enqueue.addFilter(redact)
    listener = _Listener(records, redact.secrets, *handlers)
    listener.start()
    _deferred = records
    root = logging.getLogger()
    root.handlers[:] = [enqueue]
    root.setLevel(level)
    if unwritable is not None:
        logging.getLogger("keyproxy").warning("cannot write the log file (%s); logging to stderr only", unwritable)

    def stop() -> None:
        global _deferred
        _deferred = None
        listener.stop()  # writes what is queued first
        for handler in handlers:
            handler.close()

    return stop
