from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import aiohttp
import httpx
import pytest

from keyproxy.testing import BackgroundServer, FakeUpstream, Fault, FaultKind

# The SDK is imported inside the tests that use it, so collecting the suite does not pay for it.
if TYPE_CHECKING:
    import openai

KEY = "sk-fake-0001-abcdefghijkl"
OTHER = "sk-fake-0002-mnopqrstuvwx"
CHAT = {"model": "fake-chat", "messages": [{"role": "user", "content": "hello world"}]}
STREAM = {**CHAT, "stream": True}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeUpstream, BackgroundServer]]:
    upstream = FakeUpstream()
    with BackgroundServer(upstream) as server:
        yield upstream, server


@pytest.fixture
def upstream(served: tuple[FakeUpstream, BackgroundServer]) -> FakeUpstream:
    served[0].reset()
    return served[0]


@pytest.fixture(scope="module")
def url(served: tuple[FakeUpstream, BackgroundServer]) -> str:
    return served[1].url


@pytest.fixture(scope="module")
def client(url: str) -> Iterator[openai.OpenAI]:
    import openai

    with openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0) as client:
        yield client


@pytest.fixture(scope="module")
def http(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {KEY}"}) as http:
        yield http


def chat(client: openai.OpenAI, **extra: Any) -> Any:
    return client.chat.completions.create(
        model="fake-chat", messages=[{"role": "user", "content": "hello world"}], **extra
    )


def error_of(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


def test_rate_limit_is_429_with_retry_after(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    import openai

    upstream.set_fault(KEY, Fault(FaultKind.RATE_LIMIT, retry_after=2))
    with pytest.raises(openai.RateLimitError) as caught:
        chat(client)
    assert caught.value.status_code == 429
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.type == "requests"
    assert caught.value.response.headers["retry-after"] == "2"
    assert "retry-after-ms" not in caught.value.response.headers


def test_rate_limit_can_say_retry_after_ms(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.RATE_LIMIT, retry_after=0.5, retry_after_ms=500))
    response = http.post("/v1/chat/completions", json=CHAT)
    assert response.headers["retry-after"] == "0.5"
    assert response.headers["retry-after-ms"] == "500"


def test_quota_is_429_insufficient_quota(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    import openai

    upstream.set_fault(KEY, Fault(FaultKind.QUOTA))
    with pytest.raises(openai.RateLimitError) as caught:
        chat(client)
    assert (caught.value.type, caught.value.code) == ("insufficient_quota", "insufficient_quota")
    assert "retry-after" not in caught.value.response.headers


def test_unauthorized_is_401_naming_the_key_only_masked(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.UNAUTHORIZED))
    response = http.post("/v1/chat/completions", json=CHAT)
    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_api_key"
    assert KEY not in response.text
    assert "...ijkl" in response.text


def test_forbidden_is_403(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    import openai

    upstream.set_fault(KEY, Fault(FaultKind.FORBIDDEN))
    with pytest.raises(openai.PermissionDeniedError):
        chat(client)


@pytest.mark.parametrize(
    ("kind", "status"),
    [(FaultKind.SERVER_ERROR, 500), (FaultKind.UNAVAILABLE, 503), (FaultKind.OVERLOADED, 529)],
)
def test_server_side_faults_answer_their_status(
    client: openai.OpenAI, upstream: FakeUpstream, kind: FaultKind, status: int
) -> None:
    import openai

    upstream.set_fault(KEY, Fault(kind))
    with pytest.raises(openai.InternalServerError) as caught:
        chat(client)
    assert caught.value.status_code == status


def test_server_error_carries_retry_after_when_set(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.UNAVAILABLE, retry_after=30))
    assert http.post("/v1/chat/completions", json=CHAT).headers["retry-after"] == "30"


def test_bad_request_is_400_context_length_exceeded(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    import openai

    upstream.set_fault(KEY, Fault(FaultKind.BAD_REQUEST))
    with pytest.raises(openai.BadRequestError) as caught:
        chat(client)
    assert caught.value.code == "context_length_exceeded"


def test_not_found_is_404_model_not_found_naming_the_model(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    import openai

    upstream.set_fault(KEY, Fault(FaultKind.NOT_FOUND))
    with pytest.raises(openai.NotFoundError) as caught:
        chat(client)
    assert caught.value.code == "model_not_found"
    assert "fake-chat" in caught.value.message


def test_unprocessable_is_422(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    import openai

    upstream.set_fault(KEY, Fault(FaultKind.UNPROCESSABLE))
    with pytest.raises(openai.UnprocessableEntityError):
        chat(client)


def test_hang_never_answers_until_the_client_gives_up(url: str, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.HANG))
    with httpx.Client(base_url=url, timeout=0.2) as impatient, pytest.raises(httpx.ReadTimeout):
        impatient.post("/v1/chat/completions", json=CHAT, headers={"authorization": f"Bearer {KEY}"})
    assert upstream.stats[KEY].responses == {}


def test_released_hang_answers_503(url: str, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.HANG))
    statuses: list[int] = []

    def call() -> None:
        with httpx.Client(base_url=url) as http:
            headers = {"authorization": f"Bearer {KEY}"}
            statuses.append(http.post("/v1/chat/completions", json=CHAT, headers=headers).status_code)

    caller = threading.Thread(target=call)
    caller.start()
    assert upstream.wait_for_requests(1)
    upstream.release_hangs()
    caller.join(5)
    assert statuses == [503]


def test_garbage_is_200_json_that_does_not_parse(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.GARBAGE))
    response = http.post("/v1/chat/completions", json=CHAT)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.text == "not json at all <html>"


def test_empty_is_200_with_no_body(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.EMPTY))
    response = http.post("/v1/chat/completions", json=CHAT)
    assert response.status_code == 200
    assert response.content == b""


def test_cut_before_first_chunk_breaks_a_stream_after_its_headers(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.CUT_BEFORE_FIRST_CHUNK))
    with http.stream("POST", "/v1/chat/completions", json=STREAM) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        with pytest.raises(httpx.RemoteProtocolError):
            response.read()


def test_cut_before_first_chunk_breaks_a_plain_answer_after_its_headers(
    http: httpx.Client, upstream: FakeUpstream
) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.CUT_BEFORE_FIRST_CHUNK))
    with http.stream("POST", "/v1/chat/completions", json=CHAT) as response:
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            response.read()


def test_cut_after_first_chunk_breaks_a_stream_after_one_event(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.CUT_AFTER_FIRST_CHUNK))
    received: list[str] = []
    with (
        http.stream("POST", "/v1/chat/completions", json=STREAM) as response,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        received.extend(line for line in response.iter_lines() if line)
    assert len(received) == 1
    assert '"role":"assistant"' in received[0]


def test_cut_after_first_chunk_breaks_a_plain_answer_midway(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.CUT_AFTER_FIRST_CHUNK))
    with http.stream("POST", "/v1/chat/completions", json=CHAT) as response, pytest.raises(httpx.RemoteProtocolError):
        response.read()


async def read_stream(url: str, received: list[bytes]) -> None:
    headers = {"authorization": f"Bearer {KEY}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/v1/chat/completions", json=STREAM, headers=headers) as response,
    ):
        assert response.status == 200
        async for line in response.content:
            received.append(line)


def test_cut_before_first_chunk_is_a_payload_error_for_aiohttp(url: str, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.CUT_BEFORE_FIRST_CHUNK))
    received: list[bytes] = []
    with pytest.raises(aiohttp.ClientPayloadError):
        asyncio.run(read_stream(url, received))
    assert received == []


def test_cut_after_first_chunk_is_a_payload_error_for_aiohttp_after_one_event(url: str, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.CUT_AFTER_FIRST_CHUNK))
    received: list[bytes] = []
    with pytest.raises(aiohttp.ClientPayloadError):
        asyncio.run(read_stream(url, received))
    assert b"".join(received).count(b"data: {") == 1


def test_slow_still_answers_normally(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.SLOW, delay=0.01))
    assert chat(client).choices[0].message.content == "Echo: hello world"
    pieces = [chunk.choices[0].delta.content for chunk in chat(client, stream=True) if chunk.choices]
    assert "".join(piece or "" for piece in pieces) == "Echo: hello world"


def test_fault_with_times_applies_that_often_then_clears(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.SERVER_ERROR, times=2))
    statuses = [http.post("/v1/chat/completions", json=CHAT).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]


def test_fault_without_times_stays_until_cleared(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.SERVER_ERROR))
    statuses = [http.post("/v1/chat/completions", json=CHAT).status_code for _ in range(3)]
    upstream.clear_faults()
    statuses.append(http.post("/v1/chat/completions", json=CHAT).status_code)
    assert statuses == [500, 500, 500, 200]


def test_fault_applies_only_to_its_key(url: str, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.QUOTA))
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {OTHER}"}) as other:
        assert other.post("/v1/chat/completions", json=CHAT).status_code == 200


def test_faults_apply_to_embeddings_and_models(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.RATE_LIMIT))
    assert http.post("/v1/embeddings", json={"model": "fake-embed", "input": "x"}).status_code == 429
    assert http.get("/v1/models").status_code == 429


def test_fault_refuses_nonsense_values() -> None:
    with pytest.raises(ValueError, match="times"):
        Fault(FaultKind.RATE_LIMIT, times=0)
    with pytest.raises(ValueError, match="delay"):
        Fault(FaultKind.SLOW, delay=-1)


def test_faults_can_be_set_and_cleared_over_http(url: str, http: httpx.Client, upstream: FakeUpstream) -> None:
    armed = httpx.post(f"{url}/_fake/faults", json={"key": KEY, "kind": "rate_limit", "retry_after": 3, "times": 1})
    assert armed.status_code == 204
    limited = http.post("/v1/chat/completions", json=CHAT)
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "3")
    httpx.post(f"{url}/_fake/faults", json={"key": KEY, "kind": "server_error"})
    assert httpx.delete(f"{url}/_fake/faults").status_code == 204
    assert http.post("/v1/chat/completions", json=CHAT).status_code == 200


def test_http_control_rejects_an_unknown_kind(url: str, upstream: FakeUpstream) -> None:
    response = httpx.post(f"{url}/_fake/faults", json={"key": KEY, "kind": "meltdown"})
    assert response.status_code == 400
    assert "kind" in error_of(response)["message"]


def test_http_stats_are_keyed_by_fingerprint_with_the_key_masked(
    url: str, http: httpx.Client, upstream: FakeUpstream
) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.RATE_LIMIT, times=1))
    http.post("/v1/chat/completions", json=CHAT)
    http.post("/v1/chat/completions", json=CHAT)
    response = httpx.get(f"{url}/_fake/stats")
    assert response.json() == {
        "keys": {upstream.fingerprints(KEY): {"masked": "...ijkl", "requests": 2, "responses": {"429": 1, "200": 1}}}
    }
    assert KEY not in response.text


def test_unknown_control_path_is_404(url: str, upstream: FakeUpstream) -> None:
    assert httpx.get(f"{url}/_fake/nothing").status_code == 404
