from __future__ import annotations

import logging

import pytest

from keyproxy.logs import RedactSecrets
from keyproxy.redact import fingerprint, mask, scrub

KEY = "sk-live-abcdefghijklmnop"


def test_mask_shows_only_the_ends() -> None:
    assert mask(KEY) == "sk-l...mnop"


def test_short_secrets_are_fully_hidden() -> None:
    assert mask("short") == "****"


def test_fingerprint_is_stable_and_not_the_key() -> None:
    assert fingerprint(KEY) == fingerprint(KEY) and KEY not in fingerprint(KEY)


def test_scrub_masks_a_key_echoed_back() -> None:
    assert scrub(f"Incorrect API key {KEY}".encode(), (KEY,)) == b"Incorrect API key sk-l...mnop"


def test_a_secret_in_a_log_line_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("keyproxy.test-redact")
    logger.addFilter(RedactSecrets([KEY]))
    with caplog.at_level(logging.INFO):
        logger.info("upstream said: bad key %s", KEY)
    assert KEY not in caplog.text and "sk-l...mnop" in caplog.text
