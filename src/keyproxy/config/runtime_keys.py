"""Key changes made while the proxy runs (added, disabled, removed keys), kept in one owner-only file.

The file, `runtime-keys.json` in the data dir, holds the keys added at run time in full: it is written with
mode 0600, through a temporary file renamed over the old one, so a crash never leaves half a file. Keys from
the environment are named in it by fingerprint only (disabled, removed). A file of version 1 names them by
the unkeyed fingerprints of before: read, they are moved to the deployment's (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import msgspec

from keyproxy.config.private_file import replace_private
from keyproxy.errors import ConfigError
from keyproxy.redact import Fingerprinter, unkeyed_fingerprint

FILE_NAME = "runtime-keys.json"
_VERSION = 2
"""2: keys named by keyed fingerprints; 1: by unkeyed ones."""


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


class SavedChanges(NamedTuple):
    changes: dict[str, ProviderChanges]
    outdated: bool
    """Read from an older version of the file: to be saved again."""


def read_key_changes(path: Path, fingerprints: Fingerprinter, configured: Mapping[str, Iterable[str]]) -> SavedChanges:
    """The changes saved at `path`; none when there is no file. A file that cannot be read is a ConfigError:
    starting without the keys an operator added, or with keys they removed, would be silently wrong.
    `configured`: each provider's keys from the environment, whose old ids a version 1 file may hold."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return SavedChanges({}, outdated=False)
    except OSError as error:
        raise ConfigError(str(path), f"cannot read: {error.strerror}") from None
    try:
        data = msgspec.json.decode(raw, type=_File)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise ConfigError(str(path), f"not a runtime keys file: {error}") from None
    if data.version > _VERSION:
        raise ConfigError(str(path), f"version {data.version} is newer than this keyproxy's {_VERSION}")
    changes: dict[str, ProviderChanges] = {}
    for name, entry in data.providers.items():
        for secret in entry.added:
            problem = key_problem(secret)
            if problem:
                raise ConfigError(str(path), f"a key added to {name} {problem}")
        disabled, removed = entry.disabled, entry.removed
        if data.version == 1:
            keys = (*configured.get(name, ()), *entry.added)
            moved = {unkeyed_fingerprint(key): fingerprints(key) for key in keys}
            # A mark of a key no longer known cannot be moved; it would have been dropped anyway.
            disabled, removed = [moved[i] for i in disabled if i in moved], [moved[i] for i in removed if i in moved]
        changes[name] = ProviderChanges(tuple(entry.added), frozenset(disabled), frozenset(removed))
    return SavedChanges(changes, outdated=data.version < _VERSION)


def write_key_changes(path: Path, changes: KeyChanges) -> None:
    """Save `changes` at `path`, readable by the owner only, replacing the old file in one rename."""
    data = _File(
        version=_VERSION,
        providers={
            name: _Provider(list(entry.added), sorted(entry.disabled), sorted(entry.removed))
            for name, entry in sorted(changes.items())
            if not entry.empty
        },
    )
    replace_private(path, msgspec.json.format(msgspec.json.encode(data)) + b"\n")
