"""Logging set-up: one line per event to stderr and a rotating file, written by a thread, never by the event loop.

Every configured secret is masked in each record as a last defence.
"""

from __future__ import annotations

import logging
import logging.handlers
import queue
import re
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

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
    """Also takes batches of lines already made (`hand_over`): written with one write per handler for the
    whole batch, after one scrub of it."""

    def __init__(self, records: queue.SimpleQueue[Any], secrets: tuple[str, ...], *handlers: logging.Handler) -> None:
        super().__init__(records, *handlers)
        self.secrets = secrets

    def handle(self, record: Any) -> None:
        if isinstance(record, logging.LogRecord):
            super().handle(record)
            return
        name, lines = record
        # Each line escaped its own control characters: the line breaks between them must stay.
        text = scrub_text("\n".join(lines), self.secrets)
        batch = logging.LogRecord(name, logging.INFO, __file__, 0, text, None, None)
        batch.bare = True
        for handler in self.handlers:
            handler.handle(batch)


_deferred: queue.SimpleQueue[Any] | None = None


class Stamp:
    """Wall-clock times as the log formatter's asctime writes them (local time), followed by `after`, or in
    ISO 8601 (UTC); the part to the second is made once a second, the milliseconds (with `after`) looked up:
    formatting them would cost twice what the rest of a stamp does."""

    __slots__ = ("_iso", "_iso_second", "_millis", "_second", "_text")

    def __init__(self, after: str = "") -> None:
        self._second = self._iso_second = -1
        self._text = self._iso = ""
        self._millis = tuple(f"{n:03d}{after}" for n in range(1000))

    def __call__(self, at: float) -> str:
        second = int(at)
        if second != self._second:
            self._second, self._text = second, time.strftime("%Y-%m-%d %H:%M:%S,", time.localtime(second))
        return self._text + self._millis[int((at - second) * 1000)]

    def window(self, at: float) -> tuple[str, float, float]:
        """`self(at)` and the times [lo, hi) of the same millisecond: a run of lines stamps each of its
        lines with two comparisons instead of a call."""
        second = int(at)
        if second != self._second:
            self._second, self._text = second, time.strftime("%Y-%m-%d %H:%M:%S,", time.localtime(second))
        millis = int((at - second) * 1000)
        return self._text + self._millis[millis], second + millis * 0.001, second + (millis + 1) * 0.001

    def iso(self, at: float) -> str:
        """ISO 8601 in UTC; `after` is not added."""
        second = int(at)
        if second != self._iso_second:
            self._iso_second, self._iso = second, time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))
        return f"{self._iso}{int((at - second) * 1000):03d}+00:00"


def deferring() -> bool:
    """Whether `configure_logging` set up the logging thread (not so in a test or a host application)."""
    return _deferred is not None


def hand_over(logger: str, lines: list[str]) -> None:
    """Lines logged at info as `logger`, made in full on the event loop (control characters escaped), for the
    logging thread to write with one write per handler: with `deferring()`, each line already carries the
    log's usual prefix (`Stamp`) or is a document of its own; without, each is logged at once."""
    if _deferred is not None:
        _deferred.put((logger, lines))
        return
    log = logging.getLogger(logger)
    for line in lines:
        log.info("%s", line)


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
