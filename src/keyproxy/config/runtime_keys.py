"""Key changes made while the proxy runs (added, disabled, removed keys), kept in one owner-only file.

The file, `runtime-keys.json` in the data dir, holds the keys added at run time in full: it is written with
mode 0600, through a temporary file renamed over the old one, so a crash never leaves half a file. Keys from
the environment are named in it by fingerprint only (disabled, removed).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from keyproxy.errors import ConfigError

FILE_NAME = "runtime-keys.json"


def key_problem(secret: str) -> str | None:
    """Why a key cannot be used, or None: it travels in an HTTP header, which cannot carry every character."""
    if not secret:
        return "is empty"
    if not secret.isprintable() or any(char.isspace() for char in secret):
        return "contains a space or a control character, which no HTTP header can carry"
    return None


@dataclass(frozen=True, slots=True)
class ProviderChanges:
    added: tuple[str, ...] = field(default=(), repr=False)
    """Keys added at run time, in the order they were added."""
    disabled: frozenset[str] = frozenset()
    """Fingerprints of keys out of rotation."""
    removed: frozenset[str] = frozenset()
    """Fingerprints of environment keys removed at run time (a runtime key is simply dropped from `added`)."""

    @property
    def empty(self) -> bool:
        return not (self.added or self.disabled or self.removed)


KeyChanges = Mapping[str, ProviderChanges]
"""Provider name -> its changes."""


class _Provider(msgspec.Struct, forbid_unknown_fields=True):
    added: list[str] = []
    disabled: list[str] = []
    removed: list[str] = []


class _File(msgspec.Struct, forbid_unknown_fields=True):
    version: int
    providers: dict[str, _Provider]


def read_key_changes(path: Path) -> dict[str, ProviderChanges]:
    """The changes saved at `path`; none when there is no file. A file that cannot be read is a ConfigError:
    starting without the keys an operator added, or with keys they removed, would be silently wrong."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise ConfigError(str(path), f"cannot read: {error.strerror}") from None
    try:
        data = msgspec.json.decode(raw, type=_File)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise ConfigError(str(path), f"not a runtime keys file: {error}") from None
    changes: dict[str, ProviderChanges] = {}
    for name, entry in data.providers.items():
        for secret in entry.added:
            problem = key_problem(secret)
            if problem:
                raise ConfigError(str(path), f"a key added to {name} {problem}")
        changes[name] = ProviderChanges(tuple(entry.added), frozenset(entry.disabled), frozenset(entry.removed))
    return changes


def write_key_changes(path: Path, changes: KeyChanges) -> None:
    """Save `changes` at `path`, readable by the owner only, replacing the old file in one rename."""
    data = _File(
        version=1,
        providers={
            name: _Provider(list(entry.added), sorted(entry.disabled), sorted(entry.removed))
            for name, entry in sorted(changes.items())
            if not entry.empty
        },
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # Created 0600 from the start: the keys are never readable by others, not even for a moment.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(msgspec.json.format(msgspec.json.encode(data)) + b"\n")
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
