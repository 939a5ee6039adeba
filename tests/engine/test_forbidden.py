from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from keyproxy.config import Credential, ProviderSettings, Settings
from keyproxy.config.settings import StateSettings
from keyproxy.engine.forbidden import judge_forbidden
from keyproxy.errors import ErrorClass, UpstreamForbidden, UpstreamModelRefused
from keyproxy.testing import AppClient, FakeClock
from keyproxy.transport import MockResponse, MockTransport, UpstreamRequest
from keyproxy.wiring import build_app

REFUSED = UpstreamForbidden("flagged by moderation", upstream_status=403, body=b'{"error": {"message": "flagged"}}')


def test_a_403_whose_key_is_refused_too_stays_a_rejected_key() -> None:
    assert judge_forbidden(REFUSED, key_works=False) is REFUSED
    assert REFUSED.error_class is ErrorClass.KEY_REJECTED


@pytest.mark.parametrize("works", [True, None], ids=["key-accepted", "no-telling"])
def test_a_403_whose_key_works_or_cannot_be_checked_is_about_the_request(works: bool | None) -> None:
    judged = judge_forbidden(REFUSED, key_works=works)
    assert judged.error_class is ErrorClass.CLIENT_ERROR
    assert judged.code == "upstream_forbidden"
    assert (getattr(judged, "upstream_status", None), getattr(judged, "body", None)) == (403, REFUSED.body)


def permission_refusal() -> UpstreamForbidden:
    refused = UpstreamForbidden("no access to this model", upstream_status=403, body=b"{}")
    refused.permission = True
    return refused


def test_a_permission_refusal_from_a_key_that_works_leaves_the_key_out_for_this_model() -> None:
    assert type(judge_forbidden(permission_refusal(), key_works=True)) is UpstreamModelRefused


@pytest.mark.parametrize(("works", "verdict"), [(False, ErrorClass.KEY_REJECTED), (None, ErrorClass.CLIENT_ERROR)])
def test_a_permission_refusal_from_a_refused_or_unchecked_key_is_judged_as_any_403(
    works: bool | None, verdict: ErrorClass
) -> None:
    assert judge_forbidden(permission_refusal(), key_works=works).error_class is verdict


def test_a_model_one_key_may_not_use_is_served_by_the_next_and_that_key_left_out_for_it(tmp_path: Path) -> None:
    keys = ("gm-key-000000000001", "gm-key-000000000002")
    sent: list[tuple[str, str]] = []
    denied_to: list[str] = []  # the key the model is refused to: whichever is tried first
    answer = {"candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]}, "finishReason": "STOP"}]}
    denied = {"error": {"code": 403, "message": "no access to this model", "status": "PERMISSION_DENIED"}}

    async def upstream(request: UpstreamRequest) -> MockResponse:
        key = request.headers["x-goog-api-key"]
        if request.method == "GET":  # the probe of the key: its model list answers
            return MockResponse.json(200, msgspec.json.encode({"models": [{"name": "models/gemini-pro"}]}))
        model = request.url.split("/models/")[1].split(":")[0]
        sent.append((key, model))
        if model == "gemini-pro" and denied_to in ([], [key]):
            denied_to[:] = [key]
            return MockResponse.json(403, msgspec.json.encode(denied))
        return MockResponse.json(200, msgspec.json.encode(answer))

    credentials = tuple(Credential(secret=key, source=f"G_API_KEY_{n}") for n, key in enumerate(keys, 1))
    provider = ProviderSettings(name="g", protocol="gemini", base_url="http://g.test/v1beta", credentials=credentials)
    settings = Settings(providers={"g": provider}, state=StateSettings(backend="memory"), data_dir=tmp_path)
    with AppClient(build_app(settings, transport=MockTransport(upstream), clock=FakeClock())) as proxy:
        asked = [
            proxy.post("/v1/chat/completions", json={"model": model, "messages": [{"role": "user", "content": "hi"}]})
            for model in ("g/gemini-pro", "g/gemini-pro", "g/gemini-flash")
        ]

    assert [answer.status_code for answer in asked] == [200, 200, 200]
    [refused] = denied_to
    other = next(key for key in keys if key != refused)
    assert [key for key, model in sent if model == "gemini-pro"] == [refused, other, other]
