"""Logging set-up: one line per event to stderr and a rotating file, written by a thread, never by the event loop.

Every configured secret is masked in each record as a last defence.
"""

from __future__ import annotations

import logging
import logging.handlers
import queue
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from keyproxy.redact import mask


class RedactSecrets(logging.Filter):
    """Masks any configured secret that slipped into a record (for example in an upstream's error text)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = tuple(secret for secret in secrets if len(secret) >= 4)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for secret in self.secrets:
            if secret in redacted:
                redacted = redacted.replace(secret, mask(secret))
        if redacted is not message and redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(level: str, secrets: Iterable[str], log_dir: Path | None = None) -> Callable[[], None]:
    """Route all logging through a queue to stderr (and `log_dir/keyproxy.log`); returns the flush-and-stop."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_dir is not None:
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_dir / "keyproxy.log", maxBytes=10 * 1024 * 1024, backupCount=3, encoding="utf-8"
            )
        )
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
    return listener.stop
