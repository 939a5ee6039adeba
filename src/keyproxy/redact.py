"""How keys are shown: masked or by fingerprint, never in full, in whatever encoding they come back."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit, urlunsplit

_UNICODE_ESCAPE = b"\\u"


def mask(secret: str) -> str:
    """A short recognisable form: enough to tell keys apart, never enough to use one, nor, with the
    fingerprint beside it, to guess the rest: a long key shows its first and last four characters, a
    shorter one its last four only, and one under 16 characters nothing."""
    if len(secret) < 16:
        return "****"
    if len(secret) < 32:
        return f"...{secret[-4:]}"
    return f"{secret[:4]}...{secret[-4:]}"


def fingerprint(deployment: bytes, secret: str) -> str:
    """A stable identifier for storing per-key state without storing the key. Keyed by the deployment's
    secret: a bare hash of a short key could be brute-forced by whoever reads the ids (docs/security.md)."""
    return hmac.new(deployment, secret.encode(), hashlib.sha256).hexdigest()[:12]


def unkeyed_fingerprint(secret: str) -> str:
    """The identifier keyproxy used before fingerprints were keyed: read only to move old state to the new ids."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Fingerprinter:
    """A deployment's fingerprints: every instance sharing state must hold the same `secret`."""

    secret: bytes = field(repr=False)

    def __call__(self, key: str) -> str:
        return fingerprint(self.secret, key)

    @classmethod
    def random(cls) -> Fingerprinter:
        """For state that lives as long as the process."""
        return cls(os.urandom(32))


@functools.lru_cache(maxsize=256)
def _forms(secret: str) -> tuple[str, ...]:
    """The ways a secret comes back from an upstream: as is, JSON-escaped (with `/` as `\\/` or not),
    URL-encoded (`%2F` or `%2f` or `/` left as is, spaces as `+` or `%20`)."""
    escaped = json.dumps(secret)[1:-1]
    quoted = quote(secret, safe="")
    lower = re.sub(r"%[0-9A-F]{2}", lambda hit: hit.group().lower(), quoted)
    found = (secret, escaped, escaped.replace("/", "\\/"), quoted, lower, quote(secret), quote_plus(secret))
    return tuple(dict.fromkeys(found))


def forms(secret: str) -> tuple[str, ...]:
    """Every spelling of `secret` that `scrub` and `scrub_text` find."""
    return _forms(secret)


def scrub_text(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret in it, in any of its forms, replaced by its mask."""
    for secret in secrets:
        if len(secret) < 4:
            continue
        for form in _forms(secret):
            if form in text:
                text = text.replace(form, mask(secret))
    return text


def scrub(data: bytes, secrets: Iterable[str]) -> bytes:
    """Replace any of `secrets` found in `data` (an upstream echoing a key back) by its mask.

    A JSON body may spell any character as `\\uXXXX`; such a body is decoded, its strings scrubbed,
    and encoded again, since no byte pattern finds every spelling.
    """
    secrets = tuple(secrets)
    if _UNICODE_ESCAPE in data:
        data = _scrub_json(data, secrets)
    for secret in secrets:
        if len(secret) < 4:
            continue
        for form in _forms(secret):
            raw = form.encode()
            if raw in data:
                data = data.replace(raw, mask(secret).encode())
    return data


def _scrub_json(data: bytes, secrets: tuple[str, ...]) -> bytes:
    try:
        decoded = json.loads(data)
    except ValueError:
        return data
    cleaned = _walk(decoded, secrets)
    return data if cleaned == decoded else json.dumps(cleaned).encode()


def _walk(value: object, secrets: tuple[str, ...]) -> object:
    if isinstance(value, str):
        return scrub_text(value, secrets)
    if isinstance(value, list):
        return [_walk(item, secrets) for item in value]
    if isinstance(value, dict):
        return {scrub_text(str(key), secrets): _walk(item, secrets) for key, item in value.items()}
    return value


def url_secrets(url: str) -> tuple[str, ...]:
    """What a base URL carries that must not be shown: its userinfo and its query values."""
    parts = urlsplit(url)
    found = [part for part in (parts.username, parts.password) if part]
    found += [value for _, value in parse_qsl(parts.query, keep_blank_values=False)]
    return tuple(found)


def shown_url(url: str) -> str:
    """`url` with its userinfo dropped and every query value masked, safe to print and to answer."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    query = "&".join(f"{name}={mask(value) if value else ''}" for name, value in parse_qsl(parts.query, True))
    return urlunsplit(parts._replace(netloc=host, query=query))
