"""The fake upstream's legacy /v1/completions, in memory: prompt echo, streams, max_tokens, the same faults."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from keyproxy.testing import AppClient, FakeUpstream, Fault, FaultKind, Response

KEY = "sk-fake-0001-abcdefghijkl"


@pytest.fixture
def fake() -> FakeUpstream:
    return FakeUpstream()


@pytest.fixture
def client(fake: FakeUpstream) -> Iterator[AppClient]:
    with AppClient(fake, headers={"authorization": f"Bearer {KEY}"}) as client:
        yield client


def complete(client: AppClient, **body: Any) -> Response:
    return client.post("/v1/completions", json={"model": "fake-chat", **body})


def events(response: Response) -> list[Any]:
    frames = [frame.removeprefix(b"data: ") for frame in response.body.split(b"\n\n") if frame]
    assert frames[-1] == b"[DONE]"
    return [msgspec.json.decode(frame) for frame in frames[:-1]]


def test_a_prompt_is_echoed_as_a_text_completion(client: AppClient) -> None:
    answer = complete(client, prompt="def f(").json()
    assert answer["object"] == "text_completion" and answer["id"].startswith("cmpl-")
    assert answer["choices"] == [{"text": "Echo: def f(", "index": 0, "logprobs": None, "finish_reason": "stop"}]
    assert answer["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}


def test_each_prompt_of_a_list_gets_its_own_choice(client: AppClient) -> None:
    choices = complete(client, prompt=["a", "b c"]).json()["choices"]
    assert [(choice["index"], choice["text"]) for choice in choices] == [(0, "Echo: a"), (1, "Echo: b c")]


def test_max_tokens_cuts_the_text_with_finish_reason_length(client: AppClient) -> None:
    choice = complete(client, prompt="one two three four", max_tokens=3).json()["choices"][0]
    assert (choice["text"], choice["finish_reason"]) == ("Echo: one two", "length")


def test_a_streamed_completion_comes_word_by_word_with_usage_when_asked(client: AppClient) -> None:
    found = events(complete(client, prompt="a b", stream=True, stream_options={"include_usage": True}))
    assert "".join(choice["text"] for event in found for choice in event["choices"]) == "Echo: a b"
    assert found[-2]["choices"][0]["finish_reason"] == "stop"
    assert found[-1]["choices"] == [] and found[-1]["usage"]["completion_tokens"] == 3


def test_a_request_without_a_prompt_is_400(client: AppClient) -> None:
    response = complete(client)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "prompt"


def test_the_keys_faults_apply_to_completions_too(client: AppClient, fake: FakeUpstream) -> None:
    fake.set_fault(KEY, Fault(FaultKind.RATE_LIMIT, retry_after=7, times=1))
    limited = complete(client, prompt="x")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
    assert complete(client, prompt="x").status_code == 200
    assert [request.path for request in fake.requests] == ["/v1/completions", "/v1/completions"]
