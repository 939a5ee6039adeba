"""Google's OAuth 2.0 token endpoint and authorization URL, as requests and answers: no I/O.

The refresh grant (`grant_type=refresh_token`) renews an account's access token; the authorization-code grant
with PKCE (RFC 7636) turns a new login into tokens. Errors are classified by status and the RFC 6749 `error`
code only: `invalid_grant` or `invalid_client` means the account must log in again.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode

import msgspec

from keyproxy.config.settings import GoogleOAuth
from keyproxy.errors import (
    InvalidUpstreamResponse,
    UpstreamKeyRejected,
    UpstreamRateLimited,
    UpstreamServerError,
    UpstreamStatusError,
)
from keyproxy.transport.base import UpstreamRequest

SCOPES = (
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/userinfo.profile",
)
_FORM = {"content-type": "application/x-www-form-urlencoded", "accept": "application/json"}
_ACCOUNT_GONE = frozenset({"invalid_grant", "invalid_client", "unauthorized_client"})


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str = field(repr=False)
    expires_at: float
    refresh_token: str | None = field(default=None, repr=False)
    """Only when the endpoint issued one (a login; a refresh keeps the old one)."""


@dataclass(frozen=True, slots=True)
class Pkce:
    verifier: str = field(repr=False)
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).decode("ascii").rstrip("="))


def refresh_request(
    client: GoogleOAuth, refresh_token: str, client_id: str | None, client_secret: str | None
) -> UpstreamRequest:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": client_id or client.client_id,
        "client_secret": client_secret or client.client_secret,
    }
    return UpstreamRequest("POST", client.token_url, _FORM, urlencode(form).encode())


def authorization_url(client: GoogleOAuth, redirect_uri: str, pkce: Pkce, state: str) -> str:
    query = {
        "client_id": client.client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": " ".join(SCOPES),
        "access_type": "offline",
        # Google issues a refresh token again only when consent is asked again.
        "prompt": "consent",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "state": state,
    }
    return f"{client.auth_url}?{urlencode(query)}"


def code_request(client: GoogleOAuth, code: str, redirect_uri: str, pkce: Pkce) -> UpstreamRequest:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "code_verifier": pkce.verifier,
    }
    return UpstreamRequest("POST", client.token_url, _FORM, urlencode(form).encode())


def read_tokens(body: bytes, now: float) -> Tokens:
    """The endpoint's 200 answer; raises InvalidUpstreamResponse when it holds no access token."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise InvalidUpstreamResponse("the OAuth token endpoint answered something other than JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str) or not data["access_token"]:
        raise InvalidUpstreamResponse("the OAuth token endpoint answered without an access_token")
    expires_in = data.get("expires_in")
    lifetime = float(expires_in) if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) else 3600.0
    refresh = data.get("refresh_token")
    return Tokens(data["access_token"], now + lifetime, refresh if isinstance(refresh, str) and refresh else None)


def token_error(status: int, body: bytes) -> UpstreamStatusError:
    """What a refused token request means: the account is gone (log in again), or a passing failure."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        data = None
    code = data.get("error") if isinstance(data, dict) else None
    if status in (400, 401, 403) and (code in _ACCOUNT_GONE or status != 400):
        # A revoked or expired refresh token: only `keyproxy login gemini-cli` brings the account back.
        return UpstreamKeyRejected(
            f"the OAuth token endpoint refused the account's refresh token ({code or status}); log in again",
            upstream_status=status,
        )
    # Anything else says nothing about the client's request, which must not get the endpoint's 400 as its own.
    cls = UpstreamRateLimited if status == 429 else UpstreamServerError
    return cls(f"the OAuth token endpoint answered HTTP {status}", upstream_status=status)
