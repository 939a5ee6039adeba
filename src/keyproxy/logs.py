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


class _Listener(logging.handlers.QueueListener):
    """Also takes batches of lines already made (`hand_over`): scrubbed here unless their maker did, and
    written as they are, one write per handler for the whole batch (`_write_batch`)."""

    def __init__(
        self, records: queue.SimpleQueue[Any], secrets: tuple[str, ...], *handlers: logging.StreamHandler[Any]
    ) -> None:
        super().__init__(records, *handlers)
        self.secrets = secrets
        self.streams = handlers

    def handle(self, record: Any) -> None:
        if isinstance(record, logging.LogRecord):
            super().handle(record)
            return
        name, lines, scrubbed = record
        # Each line escaped its own control characters: the line breaks between them must stay.
        text = "\n".join(lines) + "\n"
        data = (text if scrubbed else scrub_text(text, self.secrets)).encode("utf-8", "backslashreplace")
        for handler in self.streams:
            _write_batch(handler, name, data)


def _write_batch(handler: logging.StreamHandler[Any], name: str, data: bytes) -> None:
    """`data` written by `handler` as it is, after what the handler's stream holds: through the stream's
    binary buffer, so the batch is encoded once for every handler, not once each, and copied no more. A log
    file is rolled over first when `data` would take it past its size, as its handler would for a record."""
    handler.acquire()
    try:
        if isinstance(handler, logging.handlers.RotatingFileHandler):
            _roll_over_before(handler, len(data))
        stream = handler.stream
        stream.flush()
        buffer = getattr(stream, "buffer", None)
        if buffer is None:  # a text-only stream put in place of stderr (a host application's)
            stream.write(data.decode())
            stream.flush()
        else:
            buffer.write(data)
            buffer.flush()
    except Exception:  # as a handler does with a record it cannot write
        handler.handleError(logging.LogRecord(name, logging.INFO, __file__, 0, "a batch of lines", None, None))
    finally:
        handler.release()


def _roll_over_before(handler: logging.handlers.RotatingFileHandler, size: int) -> None:
    stream = handler.stream
    if handler.maxBytes > 0 and stream is not None and stream.seek(0, 2) + size >= handler.maxBytes:
        handler.doRollover()


_deferred: queue.SimpleQueue[Any] | None = None
_secrets: tuple[str, ...] = ()
_scrubbers: tuple[RedactSecrets, _Listener] | None = None


class Stamp:
    """Wall-clock times as the log formatter's asctime writes them (local time), followed by `after`, or in
    ISO 8601 (UTC); the part to the second is made once a second, the milliseconds (with `after`) looked up:
    formatting them would cost twice what the rest of a stamp does."""

    __slots__ = ("_iso", "_iso_second", "_millis", "_second", "_text")

    def __init__(self, after: str = "") -> None:
        self._second = self._iso_second = -1
        self._text = self._iso = ""
        self._millis = tuple(f"{n:03d}{after}" for n in range(1000))

    def window(self, at: float) -> tuple[str, float, float]:
        """The stamp of `at` and the times [lo, hi) of the same millisecond: a run of lines stamps each of
        its lines with two comparisons instead of a call."""
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


def scrub(text: str) -> str:
    """`text` with the secrets `configure_logging` was given (or `remember_secrets` since) masked, as the
    logging thread masks them."""
    return scrub_text(text, _secrets) if _secrets else text


def secrets_in_use() -> tuple[str, ...]:
    """The secrets `scrub` masks now: a new tuple whenever `remember_secrets` adds one."""
    return _secrets


def remember_secrets(secrets: Iterable[str]) -> None:
    """Mask these too from now on (keys added at run time or by a reload, which `configure_logging` could not
    know), in records and in lines made on the loop alike; nothing without `configure_logging`."""
    global _secrets
    if _scrubbers is None:
        return
    redact, listener = _scrubbers
    known = set(redact.secrets)
    new = tuple(secret for secret in dict.fromkeys(secrets) if len(secret) >= 4 and secret not in known)
    if new:
        # One tuple swapped in whole: the logging thread reads it without a lock.
        redact.secrets = listener.secrets = _secrets = (*redact.secrets, *new)


def deferring() -> bool:
    """Whether `configure_logging` set up the logging thread (not so in a test or a host application)."""
    return _deferred is not None


def hand_over(logger: str, lines: list[str], *, scrubbed: bool = False) -> None:
    """Lines logged at info as `logger`, made in full on the event loop (control characters escaped), for the
    logging thread to write with one write per handler: with `deferring()`, each line already carries the
    log's usual prefix (`Stamp`) or is a document of its own; without, each is logged at once. `scrubbed`:
    their maker masked every configured secret in them (`scrub`), so the thread need not search them."""
    if _deferred is not None:
        _deferred.put((logger, lines, scrubbed))
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
    global _deferred, _secrets, _scrubbers
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.StreamHandler[Any]] = [logging.StreamHandler(sys.stderr)]
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
    _deferred, _secrets, _scrubbers = records, redact.secrets, (redact, listener)
    root = logging.getLogger()
    root.handlers[:] = [enqueue]
    root.setLevel(level)
    if unwritable is not None:
        logging.getLogger("keyproxy").warning("cannot write the log file (%s); logging to stderr only", unwritable)

    def stop() -> None:
        global _deferred, _secrets, _scrubbers
        _deferred, _secrets, _scrubbers = None, (), None
        listener.stop()  # writes what is queued first
        for handler in handlers:
            handler.close()

    return stop
