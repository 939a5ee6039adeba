"""FakeGoogle as a user testing their own setup would drive it, over a real socket."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from keyproxy.testing import BackgroundServer, FakeGoogle

REFRESH = "1//user-refresh-token-00000000000001"
HELLO = {"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}


@pytest.fixture
def google() -> Iterator[tuple[FakeGoogle, httpx.Client]]:
    fake = FakeGoogle()
    with BackgroundServer(fake) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        yield fake, client


def generate(client: httpx.Client, token: str, project: str, model: str = "gemini-2.5-pro") -> httpx.Response:
    envelope = {"model": model, "project": project, "request": HELLO}
    return client.post("/v1internal:generateContent", json=envelope, headers={"authorization": f"Bearer {token}"})


def test_a_refresh_gives_a_token_that_generates_in_the_accounts_project(
    google: tuple[FakeGoogle, httpx.Client],
) -> None:
    fake, client = google
    fake.add_account(REFRESH, project="proj-1")

    token = client.post("/token", data={"grant_type": "refresh_token", "refresh_token": REFRESH}).json()
    answer = generate(client, token["access_token"], "proj-1")

    assert token["expires_in"] == 3600
    assert answer.json()["response"]["candidates"][0]["content"]["parts"][0]["text"] == "Echo: hello"
    assert generate(client, token["access_token"], "proj-2").status_code == 403
    assert fake.seen.refreshes[REFRESH] == 1


def test_a_revoked_access_token_is_401_and_a_revoked_account_cannot_refresh(
    google: tuple[FakeGoogle, httpx.Client],
) -> None:
    fake, client = google
    account = fake.add_account(REFRESH, project="proj-1")
    token = fake.issue(REFRESH)
    fake.revoke_access(REFRESH)
    account.revoked = True

    assert generate(client, token, "proj-1").status_code == 401
    refused = client.post("/token", data={"grant_type": "refresh_token", "refresh_token": REFRESH})
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")


def test_an_exhausted_model_answers_code_assists_quota_error_and_others_still_answer(
    google: tuple[FakeGoogle, httpx.Client],
) -> None:
    fake, client = google
    fake.add_account(REFRESH, project="proj-1", exhausted={"gemini-2.5-pro"}, reset_after=90)
    token = fake.issue(REFRESH)

    refused = generate(client, token, "proj-1")
    other = generate(client, token, "proj-1", model="gemini-2.5-flash")

    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert error["details"][0]["reason"] == "QUOTA_EXHAUSTED"
    assert error["details"][0]["metadata"]["quotaResetDelay"] == "90s"
    assert other.status_code == 200


def test_a_code_exchanged_with_the_wrong_verifier_is_refused(google: tuple[FakeGoogle, httpx.Client]) -> None:
    _, client = google
    consent = client.get(
        "/o/oauth2/auth", params={"redirect_uri": "http://127.0.0.1:1/cb", "state": "s", "code_challenge": "abc"}
    )
    code = httpx.URL(consent.headers["location"]).params["code"]

    refused = client.post("/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1:1/cb",
        "code_verifier": "not-the-verifier",
    })  # fmt: skip

    assert consent.status_code == 302
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
