"""Logging set-up: one line per event on stderr, with every configured secret masked as a last defence."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

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


def configure_logging(level: str, secrets: Iterable[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
