"""Logging set-up: one line per event to stderr and a rotating file, written by a thread, never by the event loop.

Every configured secret is masked in each record as a last defence.
"""

from __future__ import annotations

import logging
import logging.handlers
import queue
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from keyproxy.redact import scrub_text

_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def _escaped(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


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
        redacted = _CONTROL.sub(_escaped, scrub_text(message, self.secrets))
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


def configure_logging(level: str, secrets: Iterable[str], log_dir: Path | None = None) -> Callable[[], None]:
    """Route all logging through a queue to stderr (and `log_dir/keyproxy.log`); returns the flush-and-stop.

    A log file that cannot be opened (a read-only or full data dir) leaves logging on stderr, with one
    warning, rather than stopping the proxy."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    unwritable: OSError | None = None
    if log_dir is not None:
        try:
            handlers.append(
                logging.handlers.RotatingFileHandler(
                    log_dir / "keyproxy.log", maxBytes=10 * 1024 * 1024, backupCount=3, encoding="utf-8"
                )
            )
        except OSError as error:
            unwritable = error
    for handler in handlers:
        handler.setFormatter(formatter)
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    enqueue = logging.handlers.QueueHandler(records)
    enqueue.addFilter(RedactSecrets(secrets))
    listener = logging.handlers.QueueListener(records, *handlers)
    listener.start()
    root = logging.getLogger()
    root.handlers[:] = [enqueue]
    root.setLevel(level)
    if unwritable is not None:
        logging.getLogger("keyproxy").warning("cannot write the log file (%s); logging to stderr only", unwritable)

    def stop() -> None:
        listener.stop()  # writes what is queued first
        for handler in handlers:
            handler.close()

    return stop
