"""Gemini CLI accounts from the old proxy's places: variables holding the tokens, files the variables name,
and the `gemini_cli_oauth_*.json` files of the OAuth directory; and the OAuth client they refresh with.

`GEMINI_CLI_<N>_ACCESS_TOKEN`/`_REFRESH_TOKEN` (or, when none is numbered, `GEMINI_CLI_ACCESS_TOKEN`/
`_REFRESH_TOKEN`) with `_EXPIRY_DATE` (milliseconds), `_PROJECT_ID`, `_TIER`, `_EMAIL`, `_CLIENT_ID`,
`_CLIENT_SECRET`; `GEMINI_CLI_OAUTH_<N>` naming a credential file; `GEMINI_CLI_PROJECT_ID` for accounts that
name no project. An account found in several places (the old proxy copied the files it was pointed at into
its directory) is one account.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from keyproxy.config.credential_file import CredentialFileError, read_credential
from keyproxy.config.settings import Credential, GoogleOAuth, OAuthAccount
from keyproxy.config.values import ValueReader

PROVIDER = "gemini_cli"
FILE_GLOB = "gemini_cli_oauth_*.json"

_PREFIX = "GEMINI_CLI"
_NUMBERED = re.compile(rf"^{_PREFIX}_(?P<index>\d+)_REFRESH_TOKEN$")
_FILE_VARIABLE = re.compile(rf"^{_PREFIX}_OAUTH_(?P<index>\d+)$")
_FILE_NUMBER = re.compile(r"_(\d+)\.json$")


def read_google_oauth(reader: ValueReader, cwd: Path) -> GoogleOAuth:
    default = GoogleOAuth()
    directory = Path(reader.raw("KEYPROXY_OAUTH_DIR") or default.directory).expanduser()
    return GoogleOAuth(
        auth_url=reader.raw(f"{_PREFIX}_AUTH_URI") or default.auth_url,
        token_url=reader.raw(f"{_PREFIX}_TOKEN_URI") or default.token_url,
        client_id=reader.raw(f"{_PREFIX}_CLIENT_ID") or default.client_id,
        client_secret=reader.raw(f"{_PREFIX}_CLIENT_SECRET") or default.client_secret,
        directory=directory if directory.is_absolute() else cwd / directory,
    )


def read_accounts(reader: ValueReader, oauth: GoogleOAuth, cwd: Path, warnings: list[str]) -> tuple[Credential, ...]:
    """Every Gemini CLI account configured, variables first, then the files variables name, then the directory's."""
    found: dict[str, Credential] = {}
    for credential in (*_from_variables(reader, warnings), *_from_files(reader, oauth.directory, cwd, warnings)):
        first = found.get(credential.secret)
        if first is not None:
            if credential.account and first.account and credential.account.path != first.account.path:
                warnings.append(f"{credential.source} is the same account as {first.source}; read once")
            continue
        found[credential.secret] = credential
    project = reader.raw(f"{_PREFIX}_PROJECT_ID")
    if project is None:
        return tuple(found.values())
    return tuple(_with_project(credential, project) for credential in found.values())


def _with_project(credential: Credential, project: str) -> Credential:
    account = credential.account
    if account is None or account.project:
        return credential
    return replace(credential, account=replace(account, project=project))


def _from_variables(reader: ValueReader, warnings: list[str]) -> list[Credential]:
    numbered = sorted(int(m["index"]) for name in reader.values if (m := _NUMBERED.match(name)))
    prefixes = [f"{_PREFIX}_{index}" for index in numbered] or [_PREFIX]
    accounts = []
    for prefix in prefixes:
        refresh = reader.raw(f"{prefix}_REFRESH_TOKEN")
        if refresh is None:
            if reader.raw(f"{prefix}_ACCESS_TOKEN"):
                warnings.append(f"{prefix}_ACCESS_TOKEN is set without {prefix}_REFRESH_TOKEN; ignored")
            continue
        expiry = reader.number(f"{prefix}_EXPIRY_DATE", 0.0) / 1000
        account = OAuthAccount(
            access_token=reader.raw(f"{prefix}_ACCESS_TOKEN") or "",
            expires_at=expiry,
            client_id=reader.raw(f"{prefix}_CLIENT_ID") if prefix != _PREFIX else None,
            client_secret=reader.raw(f"{prefix}_CLIENT_SECRET") if prefix != _PREFIX else None,
            project=reader.raw(f"{prefix}_PROJECT_ID") if prefix != _PREFIX else None,
            tier=reader.raw(f"{prefix}_TIER"),
            email=reader.raw(f"{prefix}_EMAIL"),
        )
        accounts.append(Credential(secret=refresh, source=f"{prefix}_REFRESH_TOKEN", account=account))
    return accounts


def _from_files(reader: ValueReader, directory: Path, cwd: Path, warnings: list[str]) -> list[Credential]:
    named: list[tuple[int, str, Path]] = []
    for variable in reader.values:
        match = _FILE_VARIABLE.match(variable)
        value = reader.raw(variable) if match else None
        if match and value:
            path = Path(value).expanduser()
            named.append((int(match["index"]), variable, path if path.is_absolute() else cwd / path))
    listed = sorted(directory.glob(FILE_GLOB), key=_file_order) if directory.is_dir() else []
    sources = [(variable, path) for _, variable, path in sorted(named)]
    sources += [(str(path), path) for path in listed]
    accounts = []
    for source, path in sources:
        try:
            refresh, account = read_credential(path)
        except CredentialFileError as error:
            warnings.append(f"{source}: {error}; ignored")
            continue
        accounts.append(Credential(secret=refresh, source=source, account=account))
    return accounts


def _file_order(path: Path) -> tuple[int, str]:
    match = _FILE_NUMBER.search(path.name)
    return (int(match[1]) if match else 1 << 30, path.name)
