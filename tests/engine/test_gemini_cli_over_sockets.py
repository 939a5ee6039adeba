"""Gemini CLI accounts end to end over real sockets: keyproxy serving `gemini_cli/...` from account files,
refreshing, discovering and failing over against keyproxy.testing.FakeGoogle."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from keyproxy.redact import mask
from keyproxy.testing import BackgroundServer, FakeGoogle
from keyproxy.wiring import build_app
from support import proxy_settings

MODEL = "gemini_cli/gemini-2.5-pro"
ALPHA = "1//alpha-refresh-token-000000000000001"
BRAVO = "1//bravo-refresh-token-000000000000002"

Start = Callable[..., str]


@pytest.fixture
def google() -> Iterator[tuple[FakeGoogle, str]]:
    fake = FakeGoogle()
    with BackgroundServer(fake) as server:
        yield fake, server.url


@pytest.fixture
def start(google: tuple[FakeGoogle, str], tmp_path: Path) -> Iterator[Start]:
    """start(env) -> the URL of a proxy whose gemini_cli accounts are the files in tmp_path/oauth_creds."""
    servers: list[BackgroundServer] = []

    def start(env: dict[str, str] | None = None) -> str:
        url = google[1]
        values = {
            "GEMINI_CLI_API_BASE": url + "/v1internal", "GEMINI_CLI_TOKEN_URI": url + "/token",
            "KEYPROXY_OAUTH_DIR": str(tmp_path / "oauth_creds"), "ROTATION_TOLERANCE": "0", **(env or {}),
        }  # fmt: skip
        server = BackgroundServer(build_app(proxy_settings(values, tmp_path / f"data-{len(servers)}")))
        server.start()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()


def account_file(
    tmp_path: Path, number: int, refresh: str, access: str = "", expires_in: float = 0.0, **meta: str
) -> Path:
    path = tmp_path / "oauth_creds" / f"gemini_cli_oauth_{number}.json"
    path.parent.mkdir(exist_ok=True)
    expiry = int((time.time() + expires_in) * 1000) if expires_in else 0
    data: dict[str, Any] = {"access_token": access, "refresh_token": refresh, "expiry_date": expiry, "scope": "x"}
    if meta:
        data["_proxy_metadata"] = meta
    path.write_text(json.dumps(data))
    return path


def chat(url: str, **extra: object) -> httpx.Response:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], **extra}
    return httpx.post(url + "/v1/chat/completions", json=body, timeout=10)


def test_a_chat_completion_is_answered_by_an_account_file_with_its_discovered_project(
    google: tuple[FakeGoogle, str], start: Start, tmp_path: Path
) -> None:
    fake, _ = google
    fake.add_account(ALPHA, tier="free-tier")
    path = account_file(tmp_path, 1, ALPHA)

    response = chat(start())

    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Echo: hi"
    [(account, project, model)] = fake.seen.generated
    assert (account, model) == (ALPHA, "gemini-2.5-pro")
    assert fake.seen.calls["loadCodeAssist"] == 1
    assert fake.seen.calls["onboardUser"] == 1
    written = json.loads(path.read_text())
    assert written["_proxy_metadata"] == {"project_id": project, "tier": "free-tier"}
    assert written["refresh_token"] == ALPHA
    assert written["scope"] == "x"  # fields keyproxy does not know are kept
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_stream_comes_back_as_openai_chunks(google: tuple[FakeGoogle, str], start: Start, tmp_path: Path) -> None:
    fake, _ = google
    fake.add_account(ALPHA, project="proj-alpha")
    account_file(tmp_path, 1, ALPHA, project_id="proj-alpha", tier="standard-tier")

    with httpx.stream(
        "POST", start() + "/v1/chat/completions", timeout=10,
        json={"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "hello there"}]},
    ) as response:  # fmt: skip
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]

    assert response.status_code == 200
    assert lines[-1] == "data: [DONE]"
    said = "".join(
        chunk["choices"][0]["delta"].get("content") or ""
        for chunk in (json.loads(line[6:]) for line in lines[:-1])
        if chunk["choices"]
    )
    assert said == "Echo: hello there"
    assert fake.seen.generated == [(ALPHA, "proj-alpha", "gemini-2.5-pro")]
    assert fake.seen.calls["loadCodeAssist"] == 0  # the project was known from the file


def test_an_account_out_of_quota_cools_and_the_other_account_answers(
    google: tuple[FakeGoogle, str], start: Start, tmp_path: Path
) -> None:
    fake, _ = google
    fake.add_account(ALPHA, project="proj-alpha", tier="standard-tier", quota_left=1)
    fake.add_account(BRAVO, project="proj-bravo", tier="free-tier")
    account_file(tmp_path, 1, BRAVO, project_id="proj-bravo", tier="free-tier")
    account_file(tmp_path, 2, ALPHA, project_id="proj-alpha", tier="standard-tier")
    url = start()

    answers = [chat(url).status_code for _ in range(3)]

    assert answers == [200, 200, 200]
    # The paid account first, though its file comes second; once its quota is gone it cools until the reset.
    assert [account for account, _, _ in fake.seen.generated] == [ALPHA, BRAVO, BRAVO]
    assert fake.seen.calls["generateContent"] == 4


def test_a_quota_spent_on_one_pro_model_cools_the_accounts_other_pro_model_too(
    google: tuple[FakeGoogle, str], start: Start, tmp_path: Path
) -> None:
    fake, _ = google
    fake.add_account(ALPHA, project="proj-alpha", tier="standard-tier", exhausted={"gemini-2.5-pro"})
    fake.add_account(BRAVO, project="proj-bravo", tier="free-tier")
    account_file(tmp_path, 1, ALPHA, project_id="proj-alpha", tier="standard-tier")
    account_file(tmp_path, 2, BRAVO, project_id="proj-bravo", tier="free-tier")
    url = start()

    assert chat(url).status_code == 200
    assert chat(url, model="gemini_cli/gemini-3-pro-preview").status_code == 200
    assert chat(url, model="gemini_cli/gemini-2.5-flash").status_code == 200

    # 2.5 Pro's quota ran out on the paid account: 3 Pro waits with it, Flash does not.
    assert [(account, model) for account, _, model in fake.seen.generated] == [
        (BRAVO, "gemini-2.5-pro"), (BRAVO, "gemini-3-pro-preview"), (ALPHA, "gemini-2.5-flash"),
    ]


def test_a_token_near_its_expiry_is_refreshed_in_the_background_and_written_back(
    google: tuple[FakeGoogle, str], start: Start, tmp_path: Path
) -> None:
    fake, _ = google
    fake.add_account(ALPHA, project="proj-alpha")
    old = fake.issue(ALPHA)
    path = account_file(tmp_path, 1, ALPHA, access=old, expires_in=120, project_id="proj-alpha", tier="free-tier")

    assert chat(start()).status_code == 200
    assert fake.wait_until(lambda seen: seen.refreshes[ALPHA] == 1)

    def rewritten() -> bool:
        return json.loads(path.read_text())["access_token"] != old

    assert fake.wait_until(lambda seen: rewritten())
    written = json.loads(path.read_text())
    assert written["expiry_date"] > (time.time() + 3000) * 1000
    assert fake.seen.refreshes[ALPHA] == 1


def test_a_refused_token_is_refreshed_once_and_the_request_sent_again(
    google: tuple[FakeGoogle, str], start: Start, tmp_path: Path
) -> None:
    fake, _ = google
    fake.add_account(ALPHA, project="proj-alpha")
    account_file(tmp_path, 1, ALPHA, access=fake.issue(ALPHA), expires_in=3600, project_id="proj-alpha")
    fake.revoke_access(ALPHA)

    response = chat(start())

    assert response.status_code == 200
    assert fake.seen.refreshes[ALPHA] == 1
    assert fake.seen.calls["generateContent"] == 2
    assert len(fake.seen.generated) == 1


def test_an_account_whose_refresh_token_is_revoked_is_passed_over(
    google: tuple[FakeGoogle, str], start: Start, tmp_path: Path
) -> None:
    fake, _ = google
    fake.add_account(ALPHA, project="proj-alpha", revoked=True)
    fake.add_account(BRAVO, project="proj-bravo")
    account_file(tmp_path, 1, ALPHA, project_id="proj-alpha")
    account_file(tmp_path, 2, BRAVO, project_id="proj-bravo")

    response = chat(start())

    assert response.status_code == 200
    assert [account for account, _, _ in fake.seen.generated] == [BRAVO]


def test_accounts_in_variables_are_served_and_their_tokens_never_shown(
    google: tuple[FakeGoogle, str], start: Start
) -> None:
    fake, _ = google
    fake.add_account(ALPHA, project="proj-alpha")
    url = start({"GEMINI_CLI_1_REFRESH_TOKEN": ALPHA, "GEMINI_CLI_1_ACCESS_TOKEN": "ya29.stale-access-token-0001",
                 "GEMINI_CLI_PROJECT_ID": "proj-alpha"})  # fmt: skip

    response = chat(url)
    status = httpx.get(url + "/v1/status", timeout=10)
    models = httpx.get(url + "/v1/models", timeout=10)

    assert response.status_code == 200
    assert fake.seen.generated == [(ALPHA, "proj-alpha", "gemini-2.5-pro")]
    assert status.status_code == 200
    [key] = status.json()["providers"]["gemini_cli"]["keys"]
    assert key["key"] == mask(ALPHA)
    assert ALPHA not in status.text and "ya29" not in status.text
    assert "gemini_cli/gemini-2.5-flash" in [model["id"] for model in models.json()["data"]]
