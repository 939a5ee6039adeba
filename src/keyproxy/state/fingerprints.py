"""The deployment's fingerprints, from the secret kept with its state, and the moves of old key ids to them.

SQLite keeps the secret in the data dir, Redis in one key every instance reads (the data dir keeps a copy
for a start while Redis is down); a memory store's ids live as long as the process (docs/security.md).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from keyproxy.config.settings import StateSettings
from keyproxy.redact import Fingerprinter, unkeyed_fingerprint
from keyproxy.state.fingerprint_secret import FILE_NAME, SECRET_BYTES, file_secret, keep_secret
from keyproxy.state.redis_keys import RedisKeys

logger = logging.getLogger("keyproxy.state")

SCHEME = "hmac-sha256"
"""What a store records once its key ids are keyed ones, so old ids are moved once."""

Renames = Mapping[tuple[str, str], str]
"""(provider, a key's unkeyed id) -> its keyed id."""


def _untouched(record: bytes) -> bytes | None:
    return None


@dataclass(frozen=True, slots=True)
class Rekey:
    """What a store moves at start from unkeyed key ids to keyed ones."""

    renames: Renames = field(default_factory=dict)
    record: Callable[[bytes], bytes | None] = _untouched
    """A kept response's record with the key it names renamed; None when it names no renamed key. The
    records are opaque to the stores: their owner (api/stored_responses.py) reads them."""


def deployment_fingerprints(state: StateSettings, data_dir: Path, keys: RedisKeys | None = None) -> Fingerprinter:
    """The fingerprints every store of this deployment names keys by. `keys`: where the Redis store keeps its
    state (its default prefix unless given)."""
    kept = None if state.backend == "memory" else data_dir / FILE_NAME
    own = _own_secret(kept)
    if state.redis_url is None:
        return Fingerprinter(own)
    from keyproxy.state.redis_secret import shared_secret

    shared = shared_secret(state.redis_url, keys or RedisKeys(), own)
    if shared is None:
        logger.warning(
            "Redis unreachable at start: key ids come from %s; other instances share them only if this one "
            "has met Redis before", kept or "a secret of this process",
        )  # fmt: skip
        return Fingerprinter(own)
    if kept is not None and shared != own:
        try:
            keep_secret(kept, shared)
        except OSError as error:
            logger.error("cannot keep a copy of the shared fingerprint secret in %s (%s)", kept, error.strerror)
    return Fingerprinter(shared)


def _own_secret(kept: Path | None) -> bytes:
    """The data dir's secret; when it cannot be made there, one of this process, as the SQLite store falls back
    to memory when it cannot write its file."""
    if kept is None:
        return os.urandom(SECRET_BYTES)
    try:
        return file_secret(kept)
    except OSError as error:
        logger.error(
            "cannot keep the fingerprint secret in %s (%s); key ids last as long as this process", kept, error.strerror
        )
        return os.urandom(SECRET_BYTES)


def key_renames(keys: Iterable[tuple[str, str]], fingerprints: Fingerprinter) -> dict[tuple[str, str], str]:
    """For each (provider, key) configured: where state kept under its unkeyed id moves."""
    return {(provider, unkeyed_fingerprint(key)): fingerprints(key) for provider, key in keys if key}
