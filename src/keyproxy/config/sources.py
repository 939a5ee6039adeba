"""Where configuration comes from; the only module in keyproxy that reads the process environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from keyproxy.config.dotenv import read_dotenv
from keyproxy.errors import ConfigError

ENVIRONMENT = "environment"
DOTENV = ".env"


@dataclass(frozen=True, slots=True)
class Gathered:
    values: dict[str, str]
    """The environment over the `.env` file (the process environment wins, as with dotenv)."""
    env_path: Path | None
    """The `.env` file that was read, if any."""
    origins: dict[str, str]
    """Each variable's source: ENVIRONMENT or DOTENV."""


def gather(env_file: Path | None, cwd: Path | None = None) -> Gathered:
    base = cwd or Path.cwd()
    path = base / env_file if env_file is not None else None
    if path is None:
        candidate = base / ".env"
        path = candidate if candidate.is_file() else None
    elif not path.is_file():
        raise ConfigError("--env-file", f"no such file: {path}")
    merged = read_dotenv(path) if path is not None else {}
    origins = dict.fromkeys(merged, DOTENV)
    merged.update(os.environ)
    origins.update(dict.fromkeys(os.environ, ENVIRONMENT))
    return Gathered(merged, path, origins)
