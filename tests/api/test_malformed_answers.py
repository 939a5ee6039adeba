"""Upstream answers that are not answers (wrong JSON types, bad events, redirects, bodies and events past the
limits) are invalid answers: the key gets a transient verdict and the next key answers, or a stream already
relayed ends with its error event. Never a 500, never a stream cut without a word."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
import pytest

from keyproxy.config import Credential, ProviderSettings, Settings
from keyproxy.config.settings import AnswerLimits, StateSettings, UpstreamProtocol
from keyproxy.errors import ErrorClass, UpstreamError
from keyproxy.redact import mask
from keyproxy.testing import AppClient, FakeClock, RecordingSink
from keyproxy.transport import MockResponse, MockTransport, UpstreamRequest
from keyproxy.wiring import build_app

MEMORY = StateSettings(backend="memory")
"""Nothing written to the working directory's data dir, which other tests and runs would inherit."""

BAD, GOOD = "sk-bad-key-000000000001", "sk-good-key-00000000002"
SSE = {"content-type": "text/event-stream"}
DONE = b"data: [DONE]\n\n"
CHAT = {"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}  # fmt: skip
MESSAGE = {"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
           "content": [{"type": "text", "text": "Hi"}], "stop_reason": "end_turn",
           "usage": {"input_tokens": 1, "output_tokens": 1}}  # fmt: skip


def provider(protocol: UpstreamProtocol) -> ProviderSettings:
    keys = tuple(Credential(secret=key, source="TEST") for key in (BAD, GOOD))
    return ProviderSettings(name="p", protocol=protocol, base_url="http://p.test/v1", credentials=keys)


SINK = RecordingSink()


def proxy(protocol: UpstreamProtocol, bad: MockResponse, good: MockResponse, **limits: int) -> AppClient:
    async def handler(request: UpstreamRequest) -> MockResponse:
        key = " ".join(request.headers.get(name, "") for name in ("Authorization", "x-api-key", "x-goog-api-key"))
        return bad if BAD in key else good

    settings = Settings(
        providers={"p": provider(protocol)}, answer_limits=AnswerLimits(**limits), rotation_tolerance=0, state=MEMORY
    )
    SINK.events.clear()
    app = build_app(settings, transport=MockTransport(handler), clock=FakeClock(), events=SINK)
    return AppClient(app)


def json_answer(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> MockResponse:
    return MockResponse.json(status, msgspec.json.encode(data), headers)


def stream(events: Iterable[Any], *, tail: Iterable[bytes | UpstreamError] = ()) -> MockResponse:
    chunks: list[bytes | UpstreamError] = [
        event if isinstance(event, bytes) else b"data: " + msgspec.json.encode(event) + b"\n\n" for event in events
    ]
    return MockResponse(200, SSE, [*chunks, *tail])


def chat(**fields: Any) -> dict[str, Any]:
    return {"model": "p/m", "messages": [{"role": "user", "content": "hi"}], **fields}


def messages(**fields: Any) -> dict[str, Any]:
    return {"model": "p/m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}], **fields}


def bad_key_failed() -> bool:
    """Whether the bad key's attempt was recorded as a transient failure (a cooldown, and the next key)."""
    return any(event.key_mask == mask(BAD) and event.outcome is ErrorClass.TRANSIENT for event in SINK.events)


def assert_failed_over(client: AppClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post(path, json=body)
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-keyproxy-attempts"] == "2"
    assert bad_key_failed()
    result: dict[str, Any] = answer.json()
    return result


def test_an_anthropic_answer_of_wrong_types_fails_over_for_an_openai_client() -> None:
    wrong = {**MESSAGE, "content": [1, "two"], "usage": {"input_tokens": "many"}}
    with proxy("anthropic", json_answer(wrong), json_answer(MESSAGE)) as client:
        assert assert_failed_over(client, "/v1/chat/completions", chat())["choices"][0]["message"]["content"] == "Hi"


def test_a_chat_answer_of_wrong_types_fails_over_for_an_anthropic_client() -> None:
    wrong = {**CHAT, "choices": [{"message": 5, "finish_reason": ["stop"]}]}
    with proxy("openai", json_answer(wrong), json_answer(CHAT)) as client:
        assert assert_failed_over(client, "/v1/messages", messages())["content"] == [{"type": "text", "text": "Hi"}]


def test_a_chat_answer_without_choices_fails_over_for_a_responses_client() -> None:
    with proxy("openai", json_answer({**CHAT, "choices": "none"}), json_answer(CHAT)) as client:
        assert assert_failed_over(client, "/v1/responses", {"model": "p/m", "input": "hi"})["status"] == "completed"


def test_a_gemini_answer_of_wrong_types_fails_over() -> None:
    wrong = {"candidates": [{"content": {"parts": "text"}, "finishReason": ["STOP"]}]}
    good = {"candidates": [{"content": {"parts": [{"text": "Hi"}]}, "finishReason": "STOP"}]}
    with proxy("gemini", json_answer(wrong), json_answer(good)) as client:
        assert assert_failed_over(client, "/v1/chat/completions", chat())["choices"][0]["message"]["content"] == "Hi"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_an_invalid_answer_that_fails_over(status: int) -> None:
    redirect = json_answer(CHAT, status, {"location": "http://elsewhere.test/v1/chat/completions"})
    with proxy("openai", redirect, json_answer(CHAT)) as client:
        assert_failed_over(client, "/v1/chat/completions", chat())


def test_a_body_over_the_limit_fails_over() -> None:
    huge = MockResponse(200, {"content-type": "application/json"}, [b'{"choices": ["' + b"x" * 4096, b'"]}'])
    with proxy("openai", huge, json_answer(CHAT), body_bytes=2048) as client:
        assert_failed_over(client, "/v1/chat/completions", chat())


def test_a_body_declared_over_the_limit_is_not_read() -> None:
    declared = MockResponse(200, {"content-type": "application/json", "content-length": str(1 << 40)}, [b"{}"])
    with proxy("openai", declared, json_answer(CHAT), body_bytes=2048) as client:
        assert_failed_over(client, "/v1/chat/completions", chat())


def test_an_error_body_over_the_limit_is_still_the_keys_failure() -> None:
    huge = MockResponse(500, {"content-type": "application/json"}, [b"x" * 4096])
    with proxy("openai", huge, json_answer(CHAT), body_bytes=2048) as client:
        assert_failed_over(client, "/v1/chat/completions", chat())


def test_a_first_event_over_the_limit_fails_over() -> None:
    huge = stream([], tail=[b'data: {"choices": [{"delta": {"content": "' + b"x" * 4096])
    good = stream([{"choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}]}, DONE])
    with proxy("openai", huge, good, event_bytes=2048) as client:
        answer = client.post("/v1/chat/completions", json=chat(stream=True))
        assert answer.status_code == 200
        assert answer.headers["x-keyproxy-attempts"] == "2"
        assert answer.text.endswith("data: [DONE]\n\n")


def test_an_event_over_the_limit_after_the_first_ends_the_stream_with_an_error_event() -> None:
    first = {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}
    huge = stream([first], tail=[b'data: {"choices": [{"delta": {"content": "', *[b"x" * 1024] * 8])
    with proxy("openai", huge, huge, event_bytes=2048) as client:
        answer = client.post("/v1/chat/completions", json=chat(stream=True))
        assert "larger than 2048 bytes" in answer.text
        assert "[DONE]" not in answer.text
        assert bad_key_failed()


def test_a_bad_anthropic_event_mid_stream_ends_with_an_error_event_and_a_verdict() -> None:
    start = {"type": "message_start", "message": {"id": "msg_1", "usage": {"input_tokens": 1}}}
    wrong = {"type": "content_block_delta", "index": 0, "delta": ["not", "an", "object"]}
    bad = stream([start, wrong, {"type": "message_stop"}])
    with proxy("anthropic", bad, bad) as client:
        answer = client.post("/v1/chat/completions", json=chat(stream=True))
        assert answer.status_code == 200
        assert '"code":"stream_interrupted"' in answer.text
        assert "[DONE]" not in answer.text
        assert bad_key_failed()


def test_a_bad_chat_event_for_an_anthropic_client_fails_over_before_anything_was_sent() -> None:
    bad = stream([{"choices": "none", "usage": []}])
    good = stream([{"choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}]}, DONE])
    with proxy("openai", bad, good) as client:
        answer = client.post("/v1/messages", json=messages(stream=True))
        assert answer.headers["x-keyproxy-attempts"] == "2"
        assert answer.text.rstrip().endswith('{"type":"message_stop"}')


def test_a_stream_that_fails_in_an_untyped_way_mid_stream_ends_with_an_error_event_and_a_verdict() -> None:
    import asyncio
    from collections.abc import AsyncIterator

    from keyproxy.api.openai_dialect import OPENAI
    from keyproxy.api.streaming import DisconnectGuard, relay_stream
    from keyproxy.engine.opened import Opened

    settled: list[Any] = []

    async def chunks() -> AsyncIterator[bytes]:
        yield b'data: {"choices": []}\n\n'
        raise RuntimeError("a translator bug")

    async def settle(error: Any, record: bool, tokens: Any, size: int) -> None:
        settled.append(error)

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        await asyncio.sleep(3600)

    async def run() -> None:
        iterator = chunks()
        first = await anext(iterator)
        opened = Opened(200, {}, first_chunk=first, chunks=iterator, _settle=settle)
        await relay_stream(send, opened, DisconnectGuard({}, receive), OPENAI)

    asyncio.run(run())
    body = b"".join(message.get("body", b"") for message in sent)
    assert b'"code":"stream_interrupted"' in body and b"[DONE]" not in body
    assert settled and "could not be translated" in settled[0].message
