"""Where configuration comes from; the only module in keyproxy that reads the process environment."""

from __future__ import annotations

import os
from pathlib import Path

from keyproxy.config.dotenv import read_dotenv
from keyproxy.errors import ConfigError


def gather(env_file: Path | None, cwd: Path | None = None) -> tuple[dict[str, str], Path | None]:
    """The environment over the `.env` file (the process environment wins, as with dotenv).

    Returns the merged variables and the `.env` path that was read, if any.
    """
    base = cwd or Path.cwd()
    path = base / env_file if env_file is not None else None
    if path is None:
        candidate = base / ".env"
        path = candidate if candidate.is_file() else None
    elif not path.is_file():
        raise ConfigError("--env-file", f"no such file: {path}")
    merged = read_dotenv(path) if path is not None else {}
    merged.update(os.environ)
    return merged, path
