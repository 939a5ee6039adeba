"""The secret that keys a deployment's fingerprints, kept with its state: `fingerprint.key` in the data dir."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from keyproxy.errors import ConfigError

FILE_NAME = "fingerprint.key"
SECRET_BYTES = 32


def file_secret(path: Path) -> bytes:
    """The secret kept at `path`, made when there is none yet: random, owner-only, and whole or absent."""
    found = read_secret(path)
    return found if found is not None else _write(path, os.urandom(SECRET_BYTES), replace=False)


def read_secret(path: Path) -> bytes | None:
    """The secret kept at `path`; None when there is no file. A file that is not one is a ConfigError: a
    new secret would silently give every key a new id and orphan its state."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(str(path), f"cannot read the fingerprint secret: {error}") from None
    return parse_secret(str(path), text)


def keep_secret(path: Path, secret: bytes) -> None:
    """Replace the secret kept at `path` (by the one the instances sharing Redis agreed on)."""
    _write(path, secret, replace=True)


def parse_secret(where: str, text: str) -> bytes:
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) < SECRET_BYTES:
        raise ConfigError(where, f"not a fingerprint secret (expected {2 * SECRET_BYTES} hex digits)")
    return secret


def _write(path: Path, secret: bytes, *, replace: bool) -> bytes:
    """Written to a 0600 temporary file first, so the secret is never readable by others nor seen half
    written. Without `replace`, a secret another process made first wins and is the one answered."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        _fill(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), secret)
        if replace:
            os.replace(temporary, path)
            return secret
        try:
            os.link(temporary, path)
        except FileExistsError:
            return _existing(path)
        except OSError:
            # A file system without hard links: made exclusively in place instead.
            return _create_in_place(path, secret)
        return secret
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _create_in_place(path: Path, secret: bytes) -> bytes:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _existing(path)
    _fill(descriptor, secret)
    return secret


def _fill(descriptor: int, secret: bytes) -> None:
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(secret.hex() + "\n")
        file.flush()
        os.fsync(file.fileno())


def _existing(path: Path) -> bytes:
    found = read_secret(path)
    if found is None:
        raise FileNotFoundError(path)
    return found
