"""OAuth credential files as the Gemini CLI and the old proxy write them, read and written back unchanged
apart from the fields keyproxy updates.

The Gemini CLI's `oauth_creds.json` holds `access_token`, `refresh_token` and `expiry_date` (milliseconds);
the old proxy's `gemini_cli_oauth_<N>.json` adds `client_id`, `client_secret` and `_proxy_metadata`
(`email`, `project_id`, `tier`); gcloud's nests the tokens under `credential` with an ISO `token_expiry`.
Every field keyproxy does not know is kept as it was. A file is replaced atomically and is owner-only.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from keyproxy.config.private_file import replace_private
from keyproxy.config.settings import OAuthAccount

_METADATA = "_proxy_metadata"


class CredentialFileError(ValueError):
    """A file that is not a usable credential; the message never quotes its content."""


@dataclass(frozen=True, slots=True)
class TokenUpdate:
    """What a refresh or a discovery learned, to be written back."""

    access_token: str
    expires_at: float
    refresh_token: str | None = None
    project: str | None = None
    tier: str | None = None


def read_credential(path: Path) -> tuple[str, OAuthAccount]:
    """The refresh token and the rest of the account in `path`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CredentialFileError(f"cannot read {path}: {error.strerror}") from None
    except ValueError:
        raise CredentialFileError(f"{path} is not JSON") from None
    return credential_from(data, path)


def credential_from(data: object, path: Path | None) -> tuple[str, OAuthAccount]:
    if isinstance(data, dict) and isinstance(data.get("credential"), dict):
        data = data["credential"]
    if not isinstance(data, dict):
        raise CredentialFileError(f"{path} holds no JSON object")
    refresh = data.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        raise CredentialFileError(f"{path} has no refresh_token")
    found = data.get(_METADATA)
    metadata: dict[str, Any] = found if isinstance(found, dict) else {}
    account = OAuthAccount(
        access_token=_text(data.get("access_token")) or "",
        expires_at=_expiry(data),
        path=path,
        client_id=_text(data.get("client_id")),
        client_secret=_text(data.get("client_secret")),
        project=_text(metadata.get("project_id")),
        tier=_text(metadata.get("tier")),
        email=_text(metadata.get("email")),
    )
    return refresh, account


def write_credential(path: Path, update: TokenUpdate) -> None:
    """Write `update` into the file at `path` (created if missing), keeping its other fields."""
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = {}
    data: dict[str, Any] = current if isinstance(current, dict) else {}
    target = data["credential"] if isinstance(data.get("credential"), dict) else data
    target["access_token"] = update.access_token
    target["expiry_date"] = int(update.expires_at * 1000)
    if "token_expiry" in target:
        target["token_expiry"] = datetime.fromtimestamp(update.expires_at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if update.refresh_token:
        target["refresh_token"] = update.refresh_token
    if update.project or update.tier:
        metadata = target.setdefault(_METADATA, {})
        if isinstance(metadata, dict):
            metadata.update({k: v for k, v in (("project_id", update.project), ("tier", update.tier)) if v})
    replace_private(path, json.dumps(data, indent=2).encode())


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _expiry(data: dict[str, Any]) -> float:
    millis = data.get("expiry_date")
    if isinstance(millis, int | float) and not isinstance(millis, bool):
        return float(millis) / 1000
    iso = data.get("token_expiry")
    if isinstance(iso, str):
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    return 0.0
