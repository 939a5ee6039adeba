"""How keys are shown: masked or by fingerprint, never in full."""

from __future__ import annotations

import hashlib


def mask(secret: str) -> str:
    """A short recognisable form: enough to tell keys apart, never enough to use one."""
    if len(secret) < 12:
        return "****"
    return f"{secret[:4]}...{secret[-4:]}"


def fingerprint(secret: str) -> str:
    """A stable identifier for storing per-key state without storing the key."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


def scrub(data: bytes, secrets: tuple[str, ...]) -> bytes:
    """Replace any of `secrets` found in `data` (an upstream echoing a key back) by its mask."""
    for secret in secrets:
        raw = secret.encode()
        if raw and raw in data:
            data = data.replace(raw, mask(secret).encode())
    return data
