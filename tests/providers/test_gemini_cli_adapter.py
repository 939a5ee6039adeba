"""The Gemini CLI adapter (Code Assist's envelope around Gemini's bodies), its account setup calls and
Google's token endpoint, as requests and answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import parse_qsl

import msgspec
import pytest

from keyproxy.config.settings import GoogleOAuth
from keyproxy.errors import (
    InvalidRequest,
    InvalidUpstreamResponse,
    UpstreamKeyRejected,
    UpstreamQuotaExhausted,
    UpstreamRateLimited,
    UpstreamServerError,
)
from keyproxy.providers import Call, Grant
from keyproxy.providers.code_assist_setup import onboard_request, read_load, read_onboard, tier_priority
from keyproxy.providers.gemini_cli import GeminiCliAdapter
from keyproxy.providers.google_oauth import read_tokens, refresh_request, token_error

BASE = "https://cloudcode.test/v1internal"
ADAPTER = GeminiCliAdapter(BASE, lambda secret: Grant(f"ya29.for-{secret}", "proj-7"))
ANSWER = {
    "candidates": [{"content": {"parts": [{"text": "Hi"}], "role": "model"}, "finishReason": "STOP", "index": 0}],
    "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2, "totalTokenCount": 6},
}
RPC = "type.googleapis.com/google.rpc."


def chat_call(stream: bool = False, endpoint: Any = "chat") -> Call:
    body = msgspec.json.encode({"model": "gemini-2.5-pro", "messages": [{"role": "user", "content": "hi"}]})
    return Call("gemini_cli", "gemini-2.5-pro", endpoint, body, stream, client_model="gemini_cli/gemini-2.5-pro")


def test_a_request_goes_in_the_envelope_with_the_accounts_token_and_project() -> None:
    request = ADAPTER.request(chat_call(stream=True), "refresh-1")

    assert request.url == BASE + ":streamGenerateContent?alt=sse"
    assert request.headers["authorization"] == "Bearer ya29.for-refresh-1"
    envelope = msgspec.json.decode(request.body or b"")
    assert (envelope["model"], envelope["project"]) == ("gemini-2.5-pro", "proj-7")
    assert envelope["request"]["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]


def test_embeddings_are_refused_before_any_account_is_used() -> None:
    with pytest.raises(InvalidRequest, match="no embeddings endpoint"):
        ADAPTER.request(chat_call(endpoint="embeddings"), "refresh-1")


def test_an_answer_is_read_inside_its_response_object() -> None:
    answer = msgspec.json.decode(ADAPTER.read_body(chat_call(), msgspec.json.encode({"response": ANSWER})))
    assert answer["choices"][0]["message"]["content"] == "Hi"
    assert answer["model"] == "gemini_cli/gemini-2.5-pro"


def test_an_answer_without_its_response_object_is_invalid() -> None:
    with pytest.raises(InvalidUpstreamResponse):
        ADAPTER.read_body(chat_call(), msgspec.json.encode(ANSWER))


def test_stream_events_are_unwrapped_however_the_bytes_are_cut() -> None:
    raw = b"data: " + msgspec.json.encode({"response": ANSWER, "traceId": "t"}) + b"\r\n\r\n"
    reported: list[Mapping[str, Any]] = []

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(raw), 7):
            yield raw[start : start + 7]

    async def relay() -> bytes:
        return b"".join([c async for c in ADAPTER.read_stream(chat_call(stream=True), chunks(), reported.append)])

    out = asyncio.run(relay())
    assert b'"content":"Hi"' in out and out.endswith(b"data: [DONE]\n\n")
    assert [usage["total_tokens"] for usage in reported] == [6]


def test_code_assists_quota_exhausted_cools_until_its_reset_delay() -> None:
    body = msgspec.json.encode({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "...", "details": [
        {"@type": RPC + "ErrorInfo", "reason": "QUOTA_EXHAUSTED", "metadata": {"quotaResetDelay": "3h2m1s"}},
    ]}})  # fmt: skip
    error = ADAPTER.classify(429, {}, body, 0.0)
    assert isinstance(error, UpstreamQuotaExhausted)
    assert error.retry_after == 3 * 3600 + 2 * 60 + 1


def test_a_passing_rate_limit_is_only_rate_limited() -> None:
    body = msgspec.json.encode({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "...", "details": [
        {"@type": RPC + "ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED"}, {"@type": RPC + "RetryInfo", "retryDelay": "2s"},
    ]}})  # fmt: skip
    error = ADAPTER.classify(429, {}, body, 0.0)
    assert type(error) is UpstreamRateLimited
    assert error.retry_after == 2


def test_an_account_with_a_tier_has_its_project_and_the_paid_tier_wins() -> None:
    body = {"currentTier": {"id": "free-tier"}, "paidTier": {"id": "g1-pro-tier"}, "cloudaicompanionProject": "p-1"}
    setup = read_load(msgspec.json.encode(body), None)
    assert (setup.project, setup.tier, setup.onboard) == ("p-1", "g1-pro-tier", None)


def test_an_account_without_a_tier_is_onboarded_on_its_default_one() -> None:
    body = {"allowedTiers": [{"id": "legacy-tier"}, {"id": "free-tier", "isDefault": True}]}
    assert read_load(msgspec.json.encode(body), None).onboard == "free-tier"


def test_the_free_tier_is_onboarded_without_naming_a_project() -> None:
    request = onboard_request(BASE, "ya29.x", "free-tier", "mine")
    assert "cloudaicompanionProject" not in msgspec.json.decode(request.body or b"")
    paid = msgspec.json.decode(onboard_request(BASE, "ya29.x", "standard-tier", "mine").body or b"")
    assert paid["cloudaicompanionProject"] == "mine"


def test_an_account_with_no_project_anywhere_says_to_set_one() -> None:
    body = {"currentTier": {"id": "standard-tier"}, "ineligibleTiers": [{"reasonMessage": "Workspace account"}]}
    with pytest.raises(UpstreamKeyRejected, match=r"Workspace account.*GEMINI_CLI_PROJECT_ID"):
        read_load(msgspec.json.encode(body), None)


def test_onboarding_not_done_yet_gives_no_project() -> None:
    assert read_onboard(b'{"done": false, "name": "operations/1"}', None) is None
    done = b'{"done": true, "response": {"cloudaicompanionProject": {"id": "p-9"}}}'
    assert read_onboard(done, None) == "p-9"


def test_paid_tiers_come_before_free_ones() -> None:
    assert [tier_priority(t) for t in ("g1-ultra-tier", "standard-tier", "free-tier", None)] == [1, 2, 3, None]


def test_the_refresh_grant_names_the_accounts_own_client_when_it_has_one() -> None:
    request = refresh_request(GoogleOAuth(token_url="http://t.test/token"), "1//r", "own-client", None)
    form = dict(parse_qsl((request.body or b"").decode()))
    assert request.url == "http://t.test/token"
    assert (form["grant_type"], form["client_id"]) == ("refresh_token", "own-client")
    assert form["client_secret"] == GoogleOAuth().client_secret


def test_a_token_answer_gives_the_expiry_from_now() -> None:
    tokens = read_tokens(b'{"access_token": "ya29.n", "expires_in": 3599}', 1000.0)
    assert (tokens.access_token, tokens.expires_at, tokens.refresh_token) == ("ya29.n", 4599.0, None)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, b'{"error": "invalid_grant"}', UpstreamKeyRejected),
        (401, b'{"error": "invalid_client"}', UpstreamKeyRejected),
        (400, b'{"error": "invalid_request"}', UpstreamServerError),
        (429, b"", UpstreamRateLimited),
        (503, b"<html>", UpstreamServerError),
    ],
)
def test_a_refused_refresh_means_log_in_again_only_when_the_grant_is_gone(
    status: int, body: bytes, expected: type
) -> None:
    assert type(token_error(status, body)) is expected
