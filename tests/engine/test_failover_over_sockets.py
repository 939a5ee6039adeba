"""Fail-over where the socket is the point: hanging and unreachable upstreams, and the openai SDK as client.

The SDK is imported inside the tests that use it: importing it costs most of a second, which collecting the
rest of the suite should not pay.
"""

from __future__ import annotations

import httpx
import pytest

from keyproxy.testing import FakeUpstream, Fault, FaultKind
from support import KEYS, OpenProxy, StartProxy, Upstream, opened

CHAT = {"model": "fake/fake-chat", "messages": [{"role": "user", "content": "hi"}]}


def chat(url: str, **extra: object) -> httpx.Response:
    return httpx.post(url + "/v1/chat/completions", json={**CHAT, **extra}, timeout=10)


def used_keys(fake: FakeUpstream) -> list[str | None]:
    return [request.key for request in fake.requests]


def test_a_hanging_key_times_out_and_the_next_key_answers(start_proxy: StartProxy, upstream: Upstream) -> None:
    fake, _ = upstream
    fake.set_fault(KEYS[0], Fault(FaultKind.HANG))
    url = start_proxy({"TIMEOUT_READ_NON_STREAMING": "0.3"})
    response = chat(url)
    assert response.status_code == 200
    assert used_keys(fake) == [KEYS[0], KEYS[1]]


def test_an_unreachable_upstream_answers_502_never_a_traceback(open_proxy: OpenProxy) -> None:
    # The client side is in memory; the proxy's connection to the closed port is real.
    proxy = open_proxy(providers={"DEAD_API_BASE": "http://127.0.0.1:9/v1", "DEAD_API_KEY": "sk-dead-000000000001"},
                       network=True)  # fmt: skip
    response = proxy.post("/v1/chat/completions", json={**CHAT, "model": "dead/x"})
    assert response.status_code == 502
    assert "cannot connect" in response.json()["error"]["message"]


def test_a_hung_key_timing_out_past_the_budget_is_504_with_retry_after(
    start_proxy: StartProxy, upstream: Upstream
) -> None:
    fake, _ = upstream
    for key in KEYS:
        fake.set_fault(key, Fault(FaultKind.HANG))
    response = chat(start_proxy({"GLOBAL_TIMEOUT": "0.1", "TIMEOUT_READ_NON_STREAMING": "0.3"}))
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "deadline_exceeded"
    assert response.headers["retry-after"] == "1"  # the other keys are usable at once
    assert used_keys(fake) == [KEYS[0]]  # the budget was spent while the attempt ran: no second attempt


def test_an_answer_slower_than_the_budget_still_arrives(start_proxy: StartProxy, upstream: Upstream) -> None:
    fake, _ = upstream
    fake.set_fault(KEYS[0], Fault(FaultKind.SLOW, delay=0.3))
    response = chat(start_proxy({"GLOBAL_TIMEOUT": "0.1"}))
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Echo: hi"
    assert used_keys(fake) == [KEYS[0]]


def test_context_length_error_keeps_the_upstream_code(start_proxy: StartProxy, upstream: Upstream) -> None:
    import openai

    fake, _ = upstream
    fake.set_fault(KEYS[0], Fault(FaultKind.BAD_REQUEST))
    client = opened(openai.OpenAI(base_url=start_proxy() + "/v1", api_key="x", max_retries=0))
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="fake/fake-chat", messages=[{"role": "user", "content": "x"}])
    assert caught.value.code == "context_length_exceeded"


def test_a_stream_cut_before_its_first_chunk_fails_over_invisibly(start_proxy: StartProxy, upstream: Upstream) -> None:
    import openai

    fake, _ = upstream
    fake.set_fault(KEYS[0], Fault(FaultKind.CUT_BEFORE_FIRST_CHUNK))
    client = opened(openai.OpenAI(base_url=start_proxy() + "/v1", api_key="x", max_retries=0))
    stream = client.chat.completions.create(
        model="fake/fake-chat", messages=[{"role": "user", "content": "a b"}], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "Echo: a b"
    assert used_keys(fake) == [KEYS[0], KEYS[1]]


def test_the_openai_sdk_raises_on_a_cut_stream_instead_of_returning_a_short_answer(
    start_proxy: StartProxy, upstream: Upstream
) -> None:
    import openai

    fake, _ = upstream
    fake.set_fault(KEYS[0], Fault(FaultKind.CUT_AFTER_FIRST_CHUNK))
    client = opened(openai.OpenAI(base_url=start_proxy() + "/v1", api_key="x", max_retries=0))
    stream = client.chat.completions.create(
        model="fake/fake-chat", messages=[{"role": "user", "content": "a b c"}], stream=True
    )
    with pytest.raises(openai.APIError):
        list(stream)
