"""FakeGoogle: Google's OAuth endpoints and the Code Assist API of Gemini CLI accounts, in one ASGI app.

`GET /o/oauth2/auth` plays a browser that consents at once: it redirects to the `redirect_uri` with a code
(PKCE S256 checked at the exchange); `POST /token` takes the refresh and authorization-code grants;
`/v1internal:loadCodeAssist`, `:onboardUser`, `:generateContent` and `:streamGenerateContent` answer in
Code Assist's envelope, the content being the fake Gemini's echo. Accounts are made with `add_account`, and
misbehave on command: a quota that runs out, an access token revoked early, a refresh token revoked.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import msgspec

from keyproxy.testing._asgi import Receive, Scope, Send, header_map, json_object, read_body, send_json, start
from keyproxy.testing._delivery import JsonReply, StreamReply, deliver
from keyproxy.testing._gemini_errors import google_error
from keyproxy.testing._gemini_generate import Stream, generate_reply

CODE_ASSIST = "/v1internal"
AUTH_PATH = "/o/oauth2/auth"
TOKEN_PATH = "/token"
_RPC = "type.googleapis.com/google.rpc."


@dataclass(slots=True)
class FakeAccount:
    refresh_token: str
    tier: str = "free-tier"
    project: str | None = None
    """None until onboarded (the free tier's project is the fake's own then)."""
    quota_left: int | None = None
    """Answers before the quota runs out (then 429 QUOTA_EXHAUSTED for `reset_after` seconds); None: no end."""
    reset_after: float = 3600.0
    exhausted: set[str] = field(default_factory=set)
    """Models whose quota is gone already (429 QUOTA_EXHAUSTED), whatever `quota_left` says."""
    revoked: bool = False


@dataclass(slots=True)
class _Code:
    refresh_token: str
    challenge: str
    redirect_uri: str


@dataclass(slots=True)
class Seen:
    """What the fake was asked, for tests: refreshes per account, calls per Code Assist method, and the
    (account, project, model) of each generation."""

    refreshes: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    generated: list[tuple[str, str, str]] = field(default_factory=list)


class FakeGoogle:
    def __init__(self, *, token_lifetime: float = 3600.0) -> None:
        self.token_lifetime = token_lifetime
        self.accounts: dict[str, FakeAccount] = {}
        self.seen = Seen()
        self._tokens: dict[str, str] = {}
        self._codes: dict[str, _Code] = {}
        self._serial = itertools.count(1)
        self._changed = threading.Condition()

    def wait_until(self, condition: Callable[[Seen], bool], timeout: float = 5.0) -> bool:
        """Block until `condition(seen)` holds after some request (a refresh keyproxy makes in the background,
        say); False on timeout. Safe from any thread."""
        with self._changed:
            return self._changed.wait_for(lambda: condition(self.seen), timeout)

    def add_account(self, refresh_token: str, **fields: Any) -> FakeAccount:
        account = FakeAccount(refresh_token, **fields)
        self.accounts[refresh_token] = account
        return account

    def issue(self, refresh_token: str) -> str:
        """A valid access token for the account, as a refresh would give."""
        token = f"ya29.fake-{next(self._serial)}-{hashlib.sha256(refresh_token.encode()).hexdigest()[:8]}"
        self._tokens[token] = refresh_token
        return token

    def revoke_access(self, refresh_token: str) -> None:
        """Every access token of the account stops working (its refresh token still does)."""
        self._tokens = {token: owner for token, owner in self._tokens.items() if owner != refresh_token}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        try:
            await self._http(scope, receive, send)
        finally:
            with self._changed:
                self._changed.notify_all()

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        raw = await read_body(receive)
        if method == "GET" and path == AUTH_PATH:
            await self._consent(query, send)
        elif method == "POST" and path == TOKEN_PATH:
            await send_json(send, *self._token(dict(parse_qsl(raw.decode()))))
        elif method == "POST" and path.startswith(CODE_ASSIST + ":"):
            action = path.removeprefix(CODE_ASSIST + ":")
            self.seen.calls[action] += 1
            owner = self._owner(header_map(scope))
            if owner is None:
                await send_json(send, 401, google_error(401, "Request had invalid authentication credentials."))
                return
            await deliver(send, self._code_assist(action, owner, json_object(raw) or {}, query))
        else:
            await send_json(send, 404, google_error(404, f"Unknown request URL: {method} {path}."))

    async def _consent(self, query: dict[str, str], send: Send) -> None:
        code = f"code-{next(self._serial)}"
        refresh = f"1//fake-refresh-{next(self._serial)}-{'x' * 24}"
        self.add_account(refresh)
        self._codes[code] = _Code(refresh, query.get("code_challenge", ""), query.get("redirect_uri", ""))
        location = f"{query.get('redirect_uri', '')}?{urlencode({'code': code, 'state': query.get('state', '')})}"
        await start(send, 302, b"text/plain", ((b"location", location.encode()),), 0)
        await send({"type": "http.response.body", "body": b""})

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type")
        if grant == "refresh_token":
            account = self.accounts.get(form.get("refresh_token", ""))
            if account is None or account.revoked:
                return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
            self.seen.refreshes[account.refresh_token] += 1
            return 200, self._granted(account.refresh_token, with_refresh=False)
        if grant == "authorization_code":
            code = self._codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            if code is None or code.redirect_uri != form.get("redirect_uri") or code.challenge != _s256(verifier):
                return 400, {"error": "invalid_grant", "error_description": "Bad Request"}
            return 200, self._granted(code.refresh_token, with_refresh=True)
        return 400, {"error": "unsupported_grant_type"}

    def _granted(self, refresh_token: str, *, with_refresh: bool) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "access_token": self.issue(refresh_token), "expires_in": self.token_lifetime, "token_type": "Bearer",
        }  # fmt: skip
        if with_refresh:
            answer["refresh_token"] = refresh_token
        return answer

    def _owner(self, headers: dict[str, str]) -> FakeAccount | None:
        token = headers.get("authorization", "").removeprefix("Bearer ")
        owner = self._tokens.get(token)
        return self.accounts.get(owner) if owner else None

    def _code_assist(
        self, action: str, account: FakeAccount, body: dict[str, Any], query: dict[str, str]
    ) -> JsonReply | StreamReply:
        if action == "loadCodeAssist":
            if account.project is None:
                return JsonReply(200, {"allowedTiers": [{"id": account.tier, "isDefault": True}]})
            return JsonReply(200, {"currentTier": {"id": account.tier}, "cloudaicompanionProject": account.project})
        if action == "onboardUser":
            account.project = body.get("cloudaicompanionProject") or f"fake-project-{next(self._serial)}"
            return JsonReply(200, {"done": True, "response": {"cloudaicompanionProject": {"id": account.project}}})
        if action not in ("generateContent", "streamGenerateContent"):
            return JsonReply(404, google_error(404, f"Method {action} not found."))
        if account.project is None or body.get("project") != account.project:
            return JsonReply(403, google_error(403, "The caller does not have permission"))
        model = str(body.get("model", ""))
        if model in account.exhausted:
            return JsonReply(429, _quota_exhausted(account.reset_after))
        if account.quota_left is not None:
            if account.quota_left <= 0:
                return JsonReply(429, _quota_exhausted(account.reset_after))
            account.quota_left -= 1
        self.seen.generated.append((account.refresh_token, account.project, model))
        request = body.get("request")
        stream: Stream | None = "sse" if action == "streamGenerateContent" and query.get("alt") == "sse" else None
        return _enveloped(generate_reply(request if isinstance(request, dict) else {}, model=model, stream=stream))


def _enveloped(reply: JsonReply | StreamReply) -> JsonReply | StreamReply:
    if isinstance(reply, JsonReply):
        return reply if reply.status >= 400 else JsonReply(reply.status, {"response": reply.payload})
    frames = []
    for frame in reply.frames:
        event = msgspec.json.decode(frame.removeprefix(b"data: ").strip())
        frames.append(b"data: " + msgspec.json.encode({"response": event}) + b"\r\n\r\n")
    return StreamReply(tuple(frames), reply.head)


def _quota_exhausted(reset_after: float) -> dict[str, Any]:
    delay = f"{reset_after:g}s"
    details: list[dict[str, Any]] = [
        {"@type": _RPC + "ErrorInfo", "reason": "QUOTA_EXHAUSTED", "domain": "cloudcode-pa.googleapis.com",
         "metadata": {"quotaResetDelay": delay, "uiMessage": "true"}},
        {"@type": _RPC + "RetryInfo", "retryDelay": delay},
    ]  # fmt: skip
    message = f"You have exhausted your capacity on this model. Your quota will reset after {delay}."
    return google_error(429, message, details)


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
