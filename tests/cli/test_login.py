"""`keyproxy login gemini-cli` against keyproxy.testing.FakeGoogle over real sockets; the test plays the browser."""

from __future__ import annotations

import asyncio
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from keyproxy.cli.login import log_in
from keyproxy.config.credential_file import read_credential
from keyproxy.config.settings import GoogleOAuth
from keyproxy.errors import KeyproxyError
from keyproxy.testing import BackgroundServer, FakeGoogle
from keyproxy.testing.fake_google import AUTH_PATH, TOKEN_PATH
from keyproxy.transport.http1 import Http1Transport


@pytest.fixture
def google() -> Iterator[tuple[FakeGoogle, str]]:
    fake = FakeGoogle()
    with BackgroundServer(fake) as server:
        yield fake, server.url


def oauth(url: str, directory: Path) -> GoogleOAuth:
    return GoogleOAuth(auth_url=url + AUTH_PATH, token_url=url + TOKEN_PATH, directory=directory)


def login(client: GoogleOAuth, browse: bool = True, *, before: str | None = None) -> tuple[Path, str]:
    """Log in, the browser following the printed URL (after visiting `before` on the callback server, if given)."""
    shown: list[str] = []

    async def run() -> Path:
        transport = Http1Transport()
        browsing: list[asyncio.Task[None]] = []

        def show(text: str) -> None:
            shown.append(text)
            if browse and (found := re.search(r"https?://\S+", text)):
                browsing.append(asyncio.ensure_future(browser(found[0])))

        async def browser(url: str) -> None:
            async with httpx.AsyncClient() as client:
                if before is not None:
                    await client.get(httpx.URL(url).params["redirect_uri"] + before)
                await client.get(url, follow_redirects=True)

        try:
            return await log_in(client, transport, 0, 10.0, show=show)
        finally:
            await asyncio.gather(*browsing)
            await transport.aclose()

    return asyncio.run(run()), "\n".join(shown)


def test_login_writes_the_new_account_owner_only_where_serve_reads_it(
    google: tuple[FakeGoogle, str], tmp_path: Path
) -> None:
    fake, url = google
    directory = tmp_path / "oauth_creds"

    path, shown = login(oauth(url, directory))

    assert path == directory / "gemini_cli_oauth_1.json"
    refresh, account = read_credential(path)
    assert refresh in fake.accounts
    assert account.access_token.startswith("ya29.fake-")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert refresh not in shown and account.access_token not in shown


def test_the_authorization_url_asks_for_offline_access_with_a_pkce_challenge(
    google: tuple[FakeGoogle, str], tmp_path: Path
) -> None:
    _, url = google
    _, shown = login(oauth(url, tmp_path))

    params = httpx.URL(re.search(r"https?://\S+", shown)[0]).params  # type: ignore[index]
    assert params["code_challenge_method"] == "S256"
    assert params["access_type"] == "offline"
    assert params["redirect_uri"].startswith("http://127.0.0.1:")
    assert "cloud-platform" in params["scope"]


def test_a_second_login_takes_the_next_file_number(google: tuple[FakeGoogle, str], tmp_path: Path) -> None:
    _, url = google
    first, _ = login(oauth(url, tmp_path))
    second, _ = login(oauth(url, tmp_path))

    assert (first.name, second.name) == ("gemini_cli_oauth_1.json", "gemini_cli_oauth_2.json")
    assert read_credential(first)[0] != read_credential(second)[0]


def test_a_callback_with_another_state_is_refused_and_the_login_goes_on(
    google: tuple[FakeGoogle, str], tmp_path: Path
) -> None:
    _, url = google

    path, _ = login(oauth(url, tmp_path), before="?code=forged&state=not-this-one")

    assert path.exists()


def test_no_browser_within_the_wait_ends_the_login_with_one_line(
    google: tuple[FakeGoogle, str], tmp_path: Path
) -> None:
    _, url = google

    async def run() -> None:
        transport = Http1Transport()
        try:
            await log_in(oauth(url, tmp_path), transport, 0, 0.05, show=lambda text: None)
        finally:
            await transport.aclose()

    with pytest.raises(KeyproxyError, match="no answer from the browser"):
        asyncio.run(run())
    assert not list(tmp_path.iterdir())


def test_the_login_command_prints_the_url_and_check_then_lists_the_account(
    google: tuple[FakeGoogle, str], tmp_path: Path
) -> None:
    fake, url = google
    env = f"GEMINI_CLI_AUTH_URI={url}{AUTH_PATH}\nGEMINI_CLI_TOKEN_URI={url}{TOKEN_PATH}\n"
    (tmp_path / ".env").write_text(env)
    command = [sys.executable, "-m", "keyproxy", "login", "gemini-cli", "--callback-port", "0", "--timeout", "20"]
    with subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        shown = ""
        while (found := re.search(r"https?://\S+", shown)) is None:
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else ""
            shown += line
        assert httpx.get(found[0], follow_redirects=True, timeout=10).status_code == 200
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err

    [refresh] = fake.accounts
    assert "oauth_creds/gemini_cli_oauth_1.json" in out
    check = subprocess.run(
        [sys.executable, "-m", "keyproxy", "check"], cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert "gemini_cli  [gemini_cli, built-in]" in check.stdout
    assert "OAuth account, tier found at start" in check.stdout
    assert refresh not in shown + out + err + check.stdout + check.stderr
