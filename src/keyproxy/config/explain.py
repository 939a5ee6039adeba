"""`keyproxy check --explain`: every setting read, with the value it took and where that came from.

Sources, highest first: a flag, the environment, `.env`, the config file, the default. Secrets are
masked; a variable in `.env` or the config file that nothing read is named (a typo, or another program's).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from keyproxy.config.legacy import status
from keyproxy.config.sources import DOTENV
from keyproxy.redact import mask, scrub_text, shown_url

_SECRET = re.compile(r"(_KEY(_\d+)?|TOKEN|SECRET|PASSWORD)$")
_VALUED = re.compile(r"^(FAIR_CYCLE_|EXHAUSTION_COOLDOWN_THRESHOLD|CUSTOM_CAP_)")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_PROXY = re.compile(r"(?<!^NO)_PROXY(_URL)?$", re.IGNORECASE)
_NOTE = re.compile(r"^(direct|not )")


@dataclass(frozen=True, slots=True)
class Explained:
    name: str
    value: str
    """As it is safe to show: keys masked, URLs without their credentials."""
    source: str


@dataclass(frozen=True, slots=True)
class Explanation:
    settings: tuple[Explained, ...]
    old_proxy: tuple[tuple[str, str], ...]
    """Each old proxy variable set, with what keyproxy does with it (config/legacy.py)."""
    unread: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Provenance:
    """What `explain` needs to know of the sources besides the merged values."""

    origins: Mapping[str, str]
    """Variable -> ENVIRONMENT or DOTENV; a variable of the merged values not named here came from the caller."""
    config_variables: Mapping[str, str]
    config_label: str | None
    flags: Mapping[str, str]
    """Variable -> the flag that set it instead (`--port`)."""
    env_path: Path | None = None


def explain(
    effective: Mapping[str, str], values: Mapping[str, str], provenance: Provenance, secrets: tuple[str, ...],
    invalid: frozenset[str],
) -> Explanation:  # fmt: skip
    settings = tuple(
        Explained(name, _shown(name, value, secrets), _source(name, values, provenance, invalid))
        for name, value in sorted(effective.items())
    )
    old = tuple(
        (name, _with_value(name, verdict, effective.get(name), name in invalid))
        for name in sorted(values)
        if values[name].strip() and (verdict := status(name)) is not None
    )
    named = {name for name, _ in old}
    unread = tuple(
        name
        for name in sorted(values)
        if values[name].strip() and name not in effective and name not in named
        and (provenance.origins.get(name) == DOTENV or name in provenance.config_variables)
    )  # fmt: skip
    return Explanation(settings, old, unread)


def _with_value(name: str, verdict: str, value: str | None, invalid: bool) -> str:
    """A fair-cycle or cap variable with the value it took (a cap in words), or why it took none."""
    if verdict != "applied" or not _VALUED.match(name):
        return verdict
    if invalid:
        return "not applied: invalid (its error says why)"
    if value is None:
        return "not applied: it names no configured provider, or its cap is not set (see the warnings)"
    return value if value.startswith("not applied") else f"applied: {value}"


def _source(name: str, values: Mapping[str, str], provenance: Provenance, invalid: frozenset[str]) -> str:
    flag = provenance.flags.get(name)
    if flag is not None:
        return f"flag {flag}"
    given = values.get(name, "").strip()
    if not given:
        return "default"
    if provenance.origins.get(name) == DOTENV:
        where = f".env {provenance.env_path}" if provenance.env_path else ".env"
    elif name in provenance.config_variables and name not in provenance.origins:
        where = f"config file ({provenance.config_label})"
    else:
        where = "environment"
    return f"{where}; invalid, so the default" if name in invalid else where


def _shown(name: str, value: str, secrets: tuple[str, ...]) -> str:
    if value == "not set":
        return value
    if _SECRET.search(name):
        return mask(value)
    if _PROXY.search(name) and not _NOTE.match(value):
        # A proxy may be given without its scheme (`user:password@host:3128`): shown as the URL it stands for.
        value = value if _URL.match(value) else "http://" + value
    if _URL.match(value):
        try:
            return shown_url(value)
        except ValueError:
            # Not a URL after all (an invalid one, reported as such): nothing of it is safe to show.
            return "****"
    return scrub_text(value, secrets)
