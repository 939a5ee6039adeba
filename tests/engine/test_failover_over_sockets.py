"""Rotation and fail-over through real sockets: every failure class of one key, the client never sees it."""

from __future__ import annotations

import httpx
import openai
import pytest

from keyproxy.testing import FakeUpstream, Fault, FaultKind
from support import KEYS, StartProxy

CHAT = {"model": "fake/fake-chat", "messages": [{"role": "user", "content": "hi"}]}

Upstream = tuple[FakeUpstream, str]


def chat(url: str, **extra: object) -> httpx.Response:
    return httpx.post(url + "/v1/chat/completions", json={**CHAT, **extra}, timeout=10)


def used_keys(fake: FakeUpstream) -> list[str | None]:
    return [request.key for request in fake.requests]


@pytest.mark.parametrize(
    "kind",
    [
        FaultKind.RATE_LIMIT, FaultKind.QUOTA, FaultKind.SERVER_ERROR, FaultKind.UNAVAILABLE,
        FaultKind.OVERLOADED, FaultKind.GARBAGE, FaultKind.EMPTY, FaultKind.UNAUTHORIZED, FaultKind.FORBIDDEN,
        FaultKind.CUT_BEFORE_FIRST_CHUNK,
    ],
)  # fmt: skip
def test_a_failing_key_is_skipped_and_the_next_key_answers(
    kind: FaultKind, start_proxy: StartProxy, upstream: Upstream
) -> None:
    fake, _ = upstream
    fake.set_fault(KEYS[0], Fault(kind))
    url = start_proxy()
    response = chat(url)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Echo: hi"
    assert used_keys(fake) == [KEYS[0], KEYS[1]]


def test_a_hanging_key_times_out_and_the_next_key_answers(start_proxy: StartProxy, upstream: Upstream) -> None:
    fake, _ = upstream
    fake.set_fault(KEYS[0], Fault(FaultKind.HANG))
    url = start_proxy({"TIMEOUT_READ_NON_STREAMING": "0.3"})
    response = chat(url)
    assert response.status_code == 200
    assert used_keys(fake) == [KEYS[0], KEYS[1]]


def test_a_rate_limited_key_is_not_used_again_while_it_cools(start_proxy: StartProxy, upstream: Upstream) -> None:
    fake, _ = upstream
    fake.set_fault(KEYS[0], Fault(FaultKind.RATE_LIMIT, retry_after=60))
    url = start_proxy()
    for _ in range(6):
        assert chat(url).status_code == 200
    assert used_keys(fake).count(KEYS[0]) == 1
    assert fake.stats[KEYS[0]].responses == {429: 1}


def test_a_rejected_key_is_benched_for_every_model(start_proxy: StartProxy, upstream: Upstream) -> None:
    fake, _ = upstream
    fake.set_fault(KEYS[1], Fault(FaultKind.UNAUTHORIZED))
    url = start_proxy()
    for model in ("fake/fake-chat", "fake/fake-chat-large", "fake/fake-chat", "fake/fake-chat-large"):
        assert chat(url, model=model).status_code == 200
    assert used_keys(fake).count(KEYS[1]) == 1


def test_every_key_rate_limited_answers_429_with_retry_after(start_proxy: StartProxy, upstream: Upstream) -> None:
    fake, _ = upstream
    for key in KEYS:
        fake.set_fault(key, Fault(FaultKind.RATE_LIMIT, retry_after=40))
    url = start_proxy()
    response = chat(url)
    assert response.status_code == 429
    assert 30 <= int(response.headers["retry-after"]) <= 40
    assert response.json()["error"]["code"] == "no_key_available"
    again = chat(url)
    assert again.status_code == 429
    assert len(fake.requests) == len(KEYS)


def test_every_key_broken_answers_502_with_the_earliest_recovery(start_proxy: StartProxy, upstream: Upstream) -> None:
    fake, _ = upstream
    for key in KEYS:
        fake.set_fault(key, Fault(FaultKind.GARBAGE))
    response = chat(start_proxy())
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_failed"
    assert int(response.headers["retry-after"]) >= 1


def test_every_key_rejected_answers_502_then_503_while_they_are_benched(
    start_proxy: StartProxy, upstream: Upstream
) -> None:
    fake, _ = upstream
    for key in KEYS:
        fake.set_fault(key, Fault(FaultKind.UNAUTHORIZED))
    url = start_proxy()
    assert chat(url).status_code == 502
    again = chat(url)
    assert again.status_code == 503
    assert again.json()["error"]["code"] == "no_key_available"
    assert int(again.headers["retry-after"]) > 500
    assert len(fake.requests) == len(KEYS)


def test_an_unreachable_upstream_answers_502_never_a_traceback(start_proxy: StartProxy) -> None:
    url = start_proxy(providers={"DEAD_API_BASE": "http://127.0.0.1:9/v1", "DEAD_API_KEY": "sk-dead-000000000001"})
    response = httpx.post(url + "/v1/chat/completions", json={**CHAT, "model": "dead/x"}, timeout=10)
    assert response.status_code == 502
    assert "cannot connect" in response.json()["error"]["message"]


def test_the_deadline_answers_504_while_the_upstream_still_hangs(
    start_proxy: StartProxy, upstream: Upstream
) -> None:
    fake, _ = upstream
    for key in KEYS:
        fake.set_fault(key, Fault(FaultKind.HANG))
    response = chat(start_proxy({"GLOBAL_TIMEOUT": "0.3"}))
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "deadline_exceeded"


@pytest.mark.parametrize(
    ("kind", "status"), [(FaultKind.BAD_REQUEST, 400), (FaultKind.NOT_FOUND, 404), (FaultKind.UNPROCESSABLE, 422)]
)
def test_an_upstream_client_error_goes_back_as_is_without_trying_other_keys(
    kind: FaultKind, status: int, start_proxy: StartProxy, upstream: Upstream
) -> None:
    fake, _ = upstream
    fake.set_fault(KEYS[0], Fault(kind))
    response = chat(start_proxy())
    assert response.status_code == status
    assert response.json()["error"]["message"]
    assert used_keys(fake) == [KEYS[0]]


def test_context_length_error_keeps_the_upstream_code(start_proxy: StartProxy, upstream: Upstream) -> None:
    fake, _ = upstream
    fake.set_fault(KEYS[0], Fault(FaultKind.BAD_REQUEST))
    client = openai.OpenAI(base_url=start_proxy() + "/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="fake/fake-chat", messages=[{"role": "user", "content": "x"}])
    assert caught.value.code == "context_length_exceeded"


def test_a_stream_cut_before_its_first_chunk_fails_over_invisibly(
    start_proxy: StartProxy, upstream: Upstream
) -> None:
    fake, _ = upstream
    fake.set_fault(KEYS[0], Fault(FaultKind.CUT_BEFORE_FIRST_CHUNK))
    client = openai.OpenAI(base_url=start_proxy() + "/v1", api_key="x", max_retries=0)
    stream = client.chat.completions.create(
        model="fake/fake-chat", messages=[{"role": "user", "content": "a b"}], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "Echo: a b"
    assert used_keys(fake) == [KEYS[0], KEYS[1]]


def test_a_stream_cut_after_content_ends_with_an_error_event_and_no_done(
    start_proxy: StartProxy, upstream: Upstream
) -> None:
    fake, _ = upstream
    fake.set_fault(KEYS[0], Fault(FaultKind.CUT_AFTER_FIRST_CHUNK))
    with httpx.stream("POST", start_proxy() + "/v1/chat/completions", json={**CHAT, "stream": True}) as response:
        body = response.read().decode()
    assert response.status_code == 200
    assert body.startswith("data: {")
    assert '"code":"stream_interrupted"' in body
    assert "[DONE]" not in body
    assert used_keys(fake) == [KEYS[0]]


def test_the_openai_sdk_raises_on_a_cut_stream_instead_of_returning_a_short_answer(
    start_proxy: StartProxy, upstream: Upstream
) -> None:
    fake, _ = upstream
    fake.set_fault(KEYS[0], Fault(FaultKind.CUT_AFTER_FIRST_CHUNK))
    client = openai.OpenAI(base_url=start_proxy() + "/v1", api_key="x", max_retries=0)
    stream = client.chat.completions.create(
        model="fake/fake-chat", messages=[{"role": "user", "content": "a b c"}], stream=True
    )
    with pytest.raises(openai.APIError):
        list(stream)
