from __future__ import annotations

import hashlib
import logging

import pytest

from keyproxy.logs import RedactSecrets
from keyproxy.redact import (
    Fingerprinter,
    fingerprint,
    mask,
    scrub,
    scrub_text,
    shown_url,
    unkeyed_fingerprint,
    url_secrets,
)

KEY = "sk-live-abcdefghijklmnop"


def test_a_long_key_shows_its_first_and_last_four_characters() -> None:
    assert mask("sk-proj-abcdefghijklmnopqrstuvwxyz0123") == "sk-p...0123"


def test_a_key_under_32_characters_shows_its_last_four_only() -> None:
    # With the first four too, the fingerprint would leave too few characters to guess.
    assert mask(KEY) == "...mnop"


@pytest.mark.parametrize("secret", ["short", "fifteen-chars15"])
def test_a_key_under_16_characters_is_fully_hidden(secret: str) -> None:
    assert mask(secret) == "****"


def test_fingerprint_is_stable_and_not_the_key() -> None:
    secret = bytes(32)
    assert fingerprint(secret, KEY) == fingerprint(secret, KEY) and KEY not in fingerprint(secret, KEY)


def test_a_fingerprint_is_keyed_so_a_bare_hash_of_a_guess_does_not_match_it() -> None:
    ids = Fingerprinter.random()
    assert ids(KEY) != unkeyed_fingerprint(KEY) == hashlib.sha256(KEY.encode()).hexdigest()[:12]
    assert len(ids(KEY)) == 12
    assert Fingerprinter.random()(KEY) != ids(KEY)


def test_a_fingerprinter_never_shows_its_secret() -> None:
    ids = Fingerprinter(bytes(range(32)))
    assert bytes(range(32)).hex() not in repr(ids) and str(bytes(range(32))) not in repr(ids)


def test_scrub_masks_a_key_echoed_back() -> None:
    assert scrub(f"Incorrect API key {KEY}".encode(), (KEY,)) == b"Incorrect API key ...mnop"


def test_a_secret_in_a_log_line_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("keyproxy.test-redact")
    logger.addFilter(RedactSecrets([KEY]))
    with caplog.at_level(logging.INFO):
        logger.info("upstream said: bad key %s", KEY)
    assert KEY not in caplog.text and "...mnop" in caplog.text


SLASHED = "sk-live/abcd+efgh=ijkl\"mnop"
SHOWN = mask(SLASHED).encode()


@pytest.mark.parametrize(
    "echoed",
    [
        b'{"error": {"message": "bad key sk-live\\/abcd+efgh=ijkl\\"mnop"}}',
        b'{"error": {"message": "bad key sk-live/abcd+efgh=ijkl\\"mnop"}}',
        b"key=sk-live%2Fabcd%2Befgh%3Dijkl%22mnop",
        b"key=sk-live%2fabcd%2befgh%3dijkl%22mnop",
        b'{"error": {"message": "bad key \\u0073k-live\\/abcd+efgh=ijkl\\u0022mnop"}}',
        b"key=sk-live/abcd%2Befgh%3Dijkl%22mnop",
    ],
    ids=[
        "json-escaped-slash",
        "json-escaped",
        "url-encoded",
        "url-encoded-lowercase",
        "unicode-escaped",
        "url-encoded-keeping-slashes",
    ],
)
def test_a_key_echoed_in_any_encoding_is_masked(echoed: bytes) -> None:
    scrubbed = scrub(echoed, (SLASHED,))
    assert b"abcd" not in scrubbed and b"efgh" not in scrubbed
    assert SHOWN in scrubbed or mask(SLASHED).encode().replace(b'"', b'\\"') in scrubbed


def test_a_body_without_escapes_is_left_as_it_is() -> None:
    body = b'{"choices": [{"message": {"content": "no key here"}}]}'
    assert scrub(body, (SLASHED,)) is body


def test_scrub_text_masks_a_decoded_message() -> None:
    assert scrub_text(f"bad key {SLASHED}!", [SLASHED]) == f"bad key {mask(SLASHED)}!"


def test_the_credentials_of_a_base_url_are_secrets() -> None:
    url = "https://user:pa55word@llm.example.test/v1?key=query-secret-0001&api-version=2024-10"
    assert set(url_secrets(url)) == {"user", "pa55word", "query-secret-0001", "2024-10"}


def test_a_base_url_is_shown_without_userinfo_and_with_its_query_values_masked() -> None:
    url = "https://user:pa55word@llm.example.test/v1?key=query-secret-0001"
    assert shown_url(url) == "https://llm.example.test/v1?key=...0001"
    assert shown_url("http://127.0.0.1:11434/v1") == "http://127.0.0.1:11434/v1"


def test_a_traceback_in_a_log_record_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("keyproxy.test-redact-traceback")
    logger.addFilter(RedactSecrets([KEY]))
    with caplog.at_level(logging.ERROR):
        try:
            raise ValueError(f"upstream rejected {KEY}")
        except ValueError:
            logger.exception("request failed")
    assert "ValueError" in caplog.text
    assert KEY not in caplog.text and "...mnop" in caplog.text


def test_a_json_escaped_key_in_a_log_line_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("keyproxy.test-redact-escaped")
    logger.addFilter(RedactSecrets([SLASHED]))
    with caplog.at_level(logging.INFO):
        logger.info('upstream said {"key": "%s"}', SLASHED.replace("/", "\\/").replace('"', '\\"'))
    assert "abcd+efgh" not in caplog.text


def test_control_characters_a_client_chose_cannot_forge_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("keyproxy.test-redact-forged")
    logger.addFilter(RedactSecrets([KEY]))
    with caplog.at_level(logging.INFO):
        logger.info("attempt failed model=%s", "m\n2026-01-01 00:00:00 WARNING forged\x1b[31m")
    assert caplog.records[0].getMessage() == "attempt failed model=m\\x0a2026-01-01 00:00:00 WARNING forged\\x1b[31m"
