"""`keyproxy login gemini-cli`: a new Gemini CLI account, by OAuth's authorization-code flow with PKCE.

keyproxy listens on a loopback port for the browser to come back, prints the URL to open (it never opens a
browser itself: it often runs where there is none), exchanges the code for tokens and writes them, owner-only,
as the next `gemini_cli_oauth_<N>.json` of the OAuth directory, where `serve` finds it (after a reload).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import msgspec

from keyproxy.config import CliOptions
from keyproxy.config.oauth_accounts import FILE_GLOB
from keyproxy.config.private_file import replace_private
from keyproxy.config.settings import GoogleOAuth
from keyproxy.errors import KeyproxyError, UpstreamError
from keyproxy.providers.google_oauth import Pkce, Tokens, authorization_url, code_request, read_tokens, token_error
from keyproxy.redact import mask
from keyproxy.transport.base import RequestTimeouts, Transport

CALLBACK = "/oauth2callback"
_TIMEOUTS = RequestTimeouts(connect=15.0, pool=15.0, read=30.0)
_PAGE = b"<!doctype html><title>keyproxy</title><p>%s You can close this window.</p>"


def login(options: CliOptions, provider: str, port: int, timeout: float) -> int:
    from keyproxy.cli.loading import load
    from keyproxy.transport.http1 import Http1Transport

    if provider != "gemini-cli":
        sys.stderr.write(f"keyproxy: no login for {provider!r}; only gemini-cli accounts log in\n")
        return 2
    settings = load(options)
    if settings is None:
        return 1

    async def run() -> Path:
        transport = Http1Transport()
        try:
            return await log_in(settings.google_oauth, transport, port, timeout, show=print)
        finally:
            await transport.aclose()

    path = asyncio.run(run())
    print(f"Wrote {path}. Reload keyproxy (SIGHUP, POST /v1/admin/reload) to use it; restart if it is the first.")
    return 0


async def log_in(
    oauth: GoogleOAuth, transport: Transport, port: int, wait: float, *, show: Callable[[str], None]
) -> Path:
    """Run the flow, waiting `wait` seconds at most for the browser: `show` gets what to tell the user (the URL
    to open). Returns the file written."""
    pkce, state = Pkce.new(), secrets.token_urlsafe(24)
    arrived: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()
    server = await asyncio.start_server(lambda r, w: _callback(r, w, state, arrived), "127.0.0.1", port)
    try:
        bound = server.sockets[0].getsockname()[1]
        redirect = f"http://127.0.0.1:{bound}{CALLBACK}"
        show(f"Open this URL in a browser and allow access:\n\n  {authorization_url(oauth, redirect, pkce, state)}\n")
        try:
            query = await asyncio.wait_for(arrived, wait)
        except TimeoutError:
            raise KeyproxyError(f"no answer from the browser within {wait:g} s") from None
    finally:
        server.close()
        await server.wait_closed()
    tokens = await _exchange(oauth, transport, query["code"], redirect, pkce)
    if tokens.refresh_token is None:
        raise KeyproxyError("Google gave no refresh token: remove keyproxy's access from the account and log in again")
    path = _next_file(oauth.directory)
    content = {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "expiry_date": int(tokens.expires_at * 1000),
        "token_type": "Bearer",
        "client_id": oauth.client_id,
        "_proxy_metadata": {},
    }
    await asyncio.to_thread(replace_private, path, msgspec.json.format(msgspec.json.encode(content)))
    show(f"Logged in account {mask(tokens.refresh_token)}.")
    return path


async def _exchange(oauth: GoogleOAuth, transport: Transport, code: str, redirect: str, pkce: Pkce) -> Tokens:
    response = await transport.send(code_request(oauth, code, redirect, pkce), _TIMEOUTS)
    try:
        body = await response.read(1024 * 1024)
    finally:
        response.close()
    try:
        if response.status >= 400:
            raise token_error(response.status, body)
        return read_tokens(body, time.time())
    except UpstreamError as error:
        raise KeyproxyError(f"the code could not be exchanged for tokens: {error.message}") from None


async def _callback(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: str, arrived: asyncio.Future[dict[str, str]]
) -> None:
    """One request from the browser: `GET /oauth2callback?code=...&state=...`; anything else is refused."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10.0)
        target = head.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1")
        url = urlsplit(target)
        query = dict(parse_qsl(url.query))
        if url.path != CALLBACK or query.get("state") != state:
            # Not this login's answer (a stray request, or a forged one): the flow goes on waiting.
            status, text = b"404 Not Found", b"This is not the page keyproxy waits for."
        elif "code" not in query:
            status, text = b"400 Bad Request", b"Access was not allowed."
            if not arrived.done():
                arrived.set_exception(KeyproxyError(f"the login was refused: {query.get('error', 'no code')}"))
        else:
            status, text = b"200 OK", b"keyproxy has the account."
            if not arrived.done():
                arrived.set_result(query)
        page = _PAGE % text
        writer.write(
            b"HTTP/1.1 " + status + b"\r\ncontent-type: text/html\r\ncontent-length: "
            + str(len(page)).encode() + b"\r\nconnection: close\r\n\r\n" + page
        )  # fmt: skip
        await writer.drain()
    except (OSError, IndexError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def _next_file(directory: Path) -> Path:
    numbers = [int(m[1]) for path in directory.glob(FILE_GLOB) if (m := re.search(r"_(\d+)\.json$", path.name))]
    return directory / f"gemini_cli_oauth_{max(numbers, default=0) + 1}.json"
