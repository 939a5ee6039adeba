"""A file of secrets (keys, OAuth tokens) replaced atomically: readable by its owner only at every moment."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def replace_private(path: Path, content: bytes) -> None:
    """Write `content` to `path` atomically, readable by its owner only, in a directory only they can list."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
