"""The adapters and the wire helpers, fed arbitrary and almost-valid requests, answers, streams and error
bodies: a request, an answer or an error of keyproxy's own types, never another exception."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from fuzz_shapes import (
    CHAT_ANSWERS,
    CHAT_EVENTS,
    CHAT_REQUESTS,
    EMBEDDINGS_REQUESTS,
    GEMINI_ANSWERS,
    GEMINI_EMBEDDINGS,
    GEMINI_EVENTS,
    GEMINI_MODELS,
    MESSAGES_ANSWERS,
    MESSAGES_EVENTS,
)
from fuzz_support import JSON, bodies, chunks_of, drain, event_streams, outcome, pieces, shaped
from keyproxy.errors import RequestError, UpstreamError, UpstreamStatusError
from keyproxy.providers import Call
from keyproxy.providers.anthropic import AnthropicAdapter
from keyproxy.providers.gemini import GeminiAdapter
from keyproxy.providers.openai import OpenAIAdapter
from keyproxy.providers.wire import asks_for_usage, error_object, load_answer, path_segment
from keyproxy.transport.base import UpstreamRequest

ADAPTERS = {
    "openai": OpenAIAdapter("https://openai.test/v1"),
    "anthropic": AnthropicAdapter("https://anthropic.test/v1"),
    "gemini": GeminiAdapter("https://gemini.test/v1beta"),
}
ANSWERS = {"openai": CHAT_ANSWERS, "anthropic": MESSAGES_ANSWERS, "gemini": GEMINI_ANSWERS}
EVENTS = {"openai": CHAT_EVENTS, "anthropic": MESSAGES_EVENTS, "gemini": GEMINI_EVENTS}
ERRORS = [
    {"error": {"message": "slow", "type": "rate_limit_error", "code": "insufficient_quota"}},
    {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    [{"error": {"code": 429, "message": "m", "status": "RESOURCE_EXHAUSTED", "details": [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34s"},
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaId": "PerDay"}]},
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
         "metadata": {"quota_limit": "PerDay"}}]}}],
    {"object": "error", "message": "m", "code": 400},
]  # fmt: skip
HEADERS = st.dictionaries(
    st.sampled_from(["retry-after", "retry-after-ms", "x-ratelimit-remaining-requests", "x-ratelimit-limit-requests",
                     "x-ratelimit-reset-requests", "anthropic-ratelimit-requests-remaining",
                     "anthropic-ratelimit-requests-limit", "anthropic-ratelimit-requests-reset", "content-type"]),
    st.one_of(st.text(max_size=30), st.sampled_from(["1e400", "-1", "nan", "12ms", "1h2m3.5s", "2099-01-01T00:00:00Z",
                                                     "Wed, 21 Oct 2015 07:28:00 GMT", "99999999999999999999"])),
)  # fmt: skip
adapters = st.sampled_from(sorted(ADAPTERS))


def call_for(name: str, body: bytes, *, stream: bool, endpoint: Any = "chat") -> Call:
    if name == "anthropic" and endpoint == "embeddings":
        endpoint = "chat"
    return Call(name, "m-1", endpoint, body, stream, client_model=f"{name}/m-1")


@given(adapters, st.integers(300, 599), HEADERS, bodies(ERRORS), st.floats(0, 2e9))
def test_classify_gives_a_typed_error_for_any_error_answer(name: str, status: int, headers: dict[str, str],
                                                           body: bytes, now: float) -> None:  # fmt: skip
    error = ADAPTERS[name].classify(status, headers, body, now)
    assert isinstance(error, UpstreamStatusError)
    assert error.retry_after is None or error.retry_after >= 0


@given(adapters, st.sampled_from(["chat", "embeddings"]), st.data())
def test_read_body_gives_an_answer_or_an_upstream_error(name: str, endpoint: str, data: st.DataObject) -> None:
    templates = GEMINI_EMBEDDINGS if name == "gemini" and endpoint == "embeddings" else ANSWERS[name]
    body = data.draw(bodies(templates))
    request = data.draw(st.sampled_from(EMBEDDINGS_REQUESTS if endpoint == "embeddings" else CHAT_REQUESTS))
    call = call_for(name, msgspec.json.encode(request), stream=False, endpoint=endpoint)
    answer = outcome(lambda: ADAPTERS[name].read_body(call, body), UpstreamError)
    if answer is not None:
        msgspec.json.decode(answer)


@given(adapters, st.booleans(), st.data())
def test_read_stream_gives_events_or_an_upstream_error(name: str, usage: bool, data: st.DataObject) -> None:
    chunks = data.draw(st.one_of(event_streams(EVENTS[name]), st.binary(max_size=100).flatmap(pieces)))
    body = msgspec.json.encode({"model": "m", "messages": [], "stream_options": {"include_usage": usage}})
    call = call_for(name, body, stream=True)
    outcome(lambda: drain(ADAPTERS[name].read_stream(call, chunks_of(chunks), lambda _: None)), UpstreamError)


@given(adapters, st.sampled_from(["chat", "embeddings"]), st.data())
def test_request_gives_an_upstream_request_or_a_refusal(name: str, endpoint: str, data: st.DataObject) -> None:
    templates = EMBEDDINGS_REQUESTS if endpoint == "embeddings" else CHAT_REQUESTS
    body = data.draw(bodies(templates))
    call = call_for(name, body, stream=data.draw(st.booleans()), endpoint=endpoint)
    request = outcome(lambda: ADAPTERS[name].request(call, "secret-key"), RequestError)
    assert request is None or isinstance(request, UpstreamRequest)


@given(adapters, bodies([{"data": [{"id": "m"}]}, *GEMINI_MODELS]))
def test_parse_models_gives_names_or_an_upstream_error(name: str, body: bytes) -> None:
    names = outcome(lambda: ADAPTERS[name].parse_models(body), UpstreamError)
    assert names is None or all(isinstance(model, str) for model in names)


@given(bodies([*ERRORS, {"stream_options": {"include_usage": True}}]))
def test_the_wire_helpers_read_any_body(body: bytes) -> None:
    outcome(lambda: load_answer(body), UpstreamError)
    assert isinstance(error_object(body), dict)
    assert asks_for_usage(body) in (True, False)


@given(st.text(max_size=20) | shaped(["models/gemini-2.5-flash"]).map(str))
def test_a_path_segment_is_one_safe_segment_or_refused(value: str) -> None:
    segment = outcome(lambda: path_segment(value, "model"), RequestError)
    assert segment is None or ("/" not in segment and "?" not in segment and segment != "..")


@given(JSON)
def test_arbitrary_json_is_never_more_than_a_refusal(value: Any) -> None:
    body = msgspec.json.encode(value)
    for name, adapter in ADAPTERS.items():
        outcome(lambda adapter=adapter, name=name: adapter.request(call_for(name, body, stream=False), "k"),
                RequestError)  # fmt: skip
