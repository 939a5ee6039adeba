"""Rotation and fail-over, proxy and upstream in memory: every failure class of one key, the client never sees it."""

from __future__ import annotations

import pytest

from keyproxy.testing import AppClient, FakeUpstream, Fault, FaultKind, Response
from support import KEYS, OpenProxy

CHAT = {"model": "fake/fake-chat", "messages": [{"role": "user", "content": "hi"}]}


def chat(proxy: AppClient, **extra: object) -> Response:
    return proxy.post("/v1/chat/completions", json={**CHAT, **extra})


def used_keys(fake: FakeUpstream) -> list[str | None]:
    """The keys the answers were asked of, in order (a probe of a key's model list is not an answer)."""
    return [request.key for request in fake.requests if request.method == "POST"]


@pytest.mark.parametrize(
    "kind",
    [
        FaultKind.RATE_LIMIT, FaultKind.QUOTA, FaultKind.SERVER_ERROR, FaultKind.UNAVAILABLE,
        FaultKind.OVERLOADED, FaultKind.GARBAGE, FaultKind.EMPTY, FaultKind.UNAUTHORIZED, FaultKind.FORBIDDEN,
        FaultKind.CUT_BEFORE_FIRST_CHUNK,
    ],
)  # fmt: skip
def test_a_failing_key_is_skipped_and_the_next_key_answers(
    kind: FaultKind, open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.set_fault(KEYS[0], Fault(kind))
    response = chat(open_proxy())
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Echo: hi"
    assert used_keys(fake_upstream) == [KEYS[0], KEYS[1]]


def test_a_rate_limited_key_is_not_used_again_while_it_cools(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.set_fault(KEYS[0], Fault(FaultKind.RATE_LIMIT, retry_after=60))
    proxy = open_proxy()
    for _ in range(6):
        assert chat(proxy).status_code == 200
    assert used_keys(fake_upstream).count(KEYS[0]) == 1
    assert fake_upstream.stats[KEYS[0]].responses == {429: 1}


def test_a_rejected_key_is_benched_for_every_model(open_proxy: OpenProxy, fake_upstream: FakeUpstream) -> None:
    fake_upstream.set_fault(KEYS[1], Fault(FaultKind.UNAUTHORIZED))
    proxy = open_proxy()
    for model in ("fake/fake-chat", "fake/fake-chat-large", "fake/fake-chat", "fake/fake-chat-large"):
        assert chat(proxy, model=model).status_code == 200
    assert used_keys(fake_upstream).count(KEYS[1]) == 1


def test_every_key_rate_limited_answers_429_with_retry_after(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    for key in KEYS:
        fake_upstream.set_fault(key, Fault(FaultKind.RATE_LIMIT, retry_after=40))
    proxy = open_proxy()
    response = chat(proxy)
    assert response.status_code == 429
    assert 30 <= int(response.headers["retry-after"]) <= 40
    assert response.json()["error"]["code"] == "no_key_available"
    again = chat(proxy)
    assert again.status_code == 429
    assert len(fake_upstream.requests) == len(KEYS)


def test_every_key_broken_answers_502_with_the_earliest_recovery(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    for key in KEYS:
        fake_upstream.set_fault(key, Fault(FaultKind.GARBAGE))
    response = chat(open_proxy())
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_failed"
    assert int(response.headers["retry-after"]) >= 1


def test_every_key_rejected_answers_502_then_503_once_they_are_all_benched(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    for key in KEYS:
        fake_upstream.set_fault(key, Fault(FaultKind.UNAUTHORIZED))
    proxy = open_proxy()
    # One request benches at most one key, whatever it carries: it takes as many requests as keys.
    for _ in KEYS:
        assert chat(proxy).status_code == 502
    again = chat(proxy)
    assert again.status_code == 503
    assert again.json()["error"]["code"] == "no_key_available"
    assert int(again.headers["retry-after"]) > 500
    asked = len(fake_upstream.requests)
    assert chat(proxy).status_code == 503 and len(fake_upstream.requests) == asked


def test_one_request_benches_at_most_one_key(open_proxy: OpenProxy, fake_upstream: FakeUpstream) -> None:
    for key in KEYS:
        fake_upstream.set_fault(key, Fault(FaultKind.UNAUTHORIZED))
    proxy = open_proxy()
    assert chat(proxy).status_code == 502
    status = proxy.get("/v1/status").json()
    assert [key["status"] for key in status["providers"]["fake"]["keys"]].count("benched") == 1


def test_a_403_about_the_request_goes_back_and_benches_no_key(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    # The key works (its model list answers); only this request is refused, as OpenRouter does with
    # moderation-flagged input: trying every key would spread the refusal, so the client gets it.
    fake_upstream.set_fault(KEYS[0], Fault(FaultKind.FORBIDDEN, times=1))
    proxy = open_proxy()
    response = chat(proxy)
    assert response.status_code == 403
    assert used_keys(fake_upstream) == [KEYS[0]]
    assert chat(proxy).status_code == 200
    assert used_keys(fake_upstream) == [KEYS[0], KEYS[1]]


def test_a_key_refused_for_a_model_is_left_out_for_that_model_only(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.set_fault(KEYS[0], Fault(FaultKind.NOT_FOUND, times=1))
    proxy = open_proxy()
    assert chat(proxy).status_code == 200
    for _ in range(3):
        assert chat(proxy).status_code == 200
    assert used_keys(fake_upstream)[:2] == [KEYS[0], KEYS[1]]
    assert KEYS[0] not in used_keys(fake_upstream)[1:]
    assert chat(proxy, model="fake/fake-chat-large").status_code == 200
    assert KEYS[0] in used_keys(fake_upstream)[5:]


@pytest.mark.parametrize(("kind", "status"), [(FaultKind.BAD_REQUEST, 400), (FaultKind.UNPROCESSABLE, 422)])
def test_an_upstream_client_error_goes_back_as_is_without_trying_other_keys(
    kind: FaultKind, status: int, open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.set_fault(KEYS[0], Fault(kind))
    response = chat(open_proxy())
    assert response.status_code == status
    assert response.json()["error"]["message"]
    assert used_keys(fake_upstream) == [KEYS[0]]


def test_a_stream_cut_after_content_ends_with_an_error_event_and_no_done(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.set_fault(KEYS[0], Fault(FaultKind.CUT_AFTER_FIRST_CHUNK))
    response = open_proxy().post("/v1/chat/completions", json={**CHAT, "stream": True})
    body = response.text
    assert response.status_code == 200
    assert body.startswith("data: {")
    assert '"code":"stream_interrupted"' in body
    assert "[DONE]" not in body
    assert used_keys(fake_upstream) == [KEYS[0]]


@pytest.mark.parametrize(
    ("path", "extra", "end"),
    [("/v1/chat/completions", {}, "data: [DONE]"), ("/v1/messages", {"max_tokens": 64}, "event: message_stop")],
)
def test_with_stream_retry_on_reasoning_only_a_stream_cut_before_its_answer_is_answered_by_the_next_key(
    path: str, extra: dict[str, object], end: str, open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    # The fake's first chunk is the assistant's role with no content yet: the answer has not begun.
    fake_upstream.set_fault(KEYS[0], Fault(FaultKind.CUT_AFTER_FIRST_CHUNK))
    proxy = open_proxy({"STREAM_RETRY_ON_REASONING_ONLY": "true"})
    body = proxy.post(path, json={**CHAT, **extra, "stream": True}).text
    assert "stream_interrupted" not in body and "error" not in body
    assert "Echo" in body and end in body
    assert used_keys(fake_upstream) == [KEYS[0], KEYS[1]]
