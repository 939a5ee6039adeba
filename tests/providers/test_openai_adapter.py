from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from keyproxy.errors import (
    InvalidRequest,
    InvalidUpstreamResponse,
    UpstreamClientError,
    UpstreamForbidden,
    UpstreamKeyRejected,
    UpstreamModelRefused,
    UpstreamQuotaExhausted,
    UpstreamRateLimited,
    UpstreamServerError,
)
from keyproxy.providers import Call, Endpoint
from keyproxy.providers.openai import OpenAIAdapter

ADAPTER = OpenAIAdapter("https://api.example.test/v1")


def call(endpoint: Endpoint = "chat", body: bytes = b"{}") -> Call:
    return Call("p", "m", endpoint, body)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, UpstreamClientError), (401, UpstreamKeyRejected), (403, UpstreamForbidden),
        (404, UpstreamClientError), (413, UpstreamClientError), (422, UpstreamClientError),
        (429, UpstreamRateLimited), (500, UpstreamServerError), (502, UpstreamServerError),
        (503, UpstreamServerError), (529, UpstreamServerError),
    ],
)  # fmt: skip
def test_status_codes_map_to_error_classes(status: int, cls: type[Exception]) -> None:
    assert type(ADAPTER.classify(status, {}, b"", 0.0)) is cls


def test_insufficient_quota_is_quota_exhausted_not_a_passing_rate_limit() -> None:
    body = b'{"error": {"message": "quota", "type": "insufficient_quota", "code": "insufficient_quota"}}'
    assert isinstance(ADAPTER.classify(429, {}, body, 0.0), UpstreamQuotaExhausted)


def test_the_upstream_message_and_retry_hint_are_kept() -> None:
    error = ADAPTER.classify(429, {"retry-after": "7"}, b'{"error": {"message": "slow down"}}', 0.0)
    assert error.message == "slow down" and error.retry_after == 7.0


def test_an_error_wrapped_in_a_list_is_read() -> None:
    error = ADAPTER.classify(400, {}, b'[{"error": {"message": "bad"}}]', 0.0)
    assert error.message == "bad"


def test_chat_request_carries_the_key_as_bearer_and_the_body_unchanged() -> None:
    request = ADAPTER.request(call(), "sk-x")
    assert request.url == "https://api.example.test/v1/chat/completions"
    assert request.headers["Authorization"] == "Bearer sk-x"
    assert request.body == b"{}"


def test_a_keyless_provider_sends_no_authorization() -> None:
    assert "Authorization" not in ADAPTER.request(call("embeddings"), "").headers


def test_the_key_never_shows_in_the_request_repr() -> None:
    assert "sk-secret" not in repr(ADAPTER.request(call(), "sk-secret"))


def test_model_list_ids_drop_the_models_prefix() -> None:
    body = b'{"data": [{"id": "models/gemini-2.5-flash"}, {"id": "gpt-4o"}, {"nope": 1}]}'
    assert ADAPTER.parse_models(body) == ["gemini-2.5-flash", "gpt-4o"]


@pytest.mark.parametrize("body", [b"", b"<html>", b'{"error": {"message": "x"}}', b"[]"])
def test_a_2xx_that_is_not_a_completion_is_invalid(body: bytes) -> None:
    with pytest.raises(InvalidUpstreamResponse):
        ADAPTER.read_body(call(), body)


def test_a_valid_answer_is_passed_on_byte_for_byte() -> None:
    body = b'{"choices": [ {"message": {"content": "hi"}} ]}'
    assert ADAPTER.read_body(call(), body) is body


def test_the_messages_endpoint_is_not_offered() -> None:
    with pytest.raises(InvalidRequest):
        ADAPTER.request(call("messages"), "sk-x")


def test_a_client_error_keeps_the_upstreams_string_code() -> None:
    body = b'{"error": {"message": "too long", "type": "invalid_request_error", "code": "context_length_exceeded"}}'
    error = ADAPTER.classify(400, {}, body, 0.0)
    assert (type(error).__name__, error.code) == ("UpstreamContextTooLong", "context_length_exceeded")


def test_a_numeric_code_is_not_taken_as_the_code() -> None:
    assert ADAPTER.classify(400, {}, b'{"error": {"message": "bad", "code": 400}}', 0.0).code == "upstream_client_error"


def test_an_error_with_its_fields_at_the_top_level_is_read() -> None:
    body = b'{"object": "error", "message": "max_tokens is too large", "type": "BadRequestError", "code": 400}'
    assert ADAPTER.classify(400, {}, body, 0.0).message == "max_tokens is too large"


def test_a_stream_is_relayed_as_it_is_and_reports_nothing_aside() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"data: {}\n\n"

    source = chunks()
    reported: list[object] = []
    assert ADAPTER.read_stream(call(), source, reported.append) is source


def test_a_responses_call_posts_the_body_to_responses() -> None:
    request = ADAPTER.request(call("responses", b'{"model":"m"}'), "sk-1")
    assert (request.method, request.url, request.body) == ("POST", "https://api.example.test/v1/responses",
                                                           b'{"model":"m"}')  # fmt: skip


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_reading_or_deleting_a_response_names_it_in_the_path_and_sends_no_body(method: str) -> None:
    held = Call("p", "m", "responses", b"", method=method, resource="resp_a1b2")  # type: ignore[arg-type]
    request = ADAPTER.request(held, "sk-1")
    assert (request.method, request.url, request.body) == (method, "https://api.example.test/v1/responses/resp_a1b2",
                                                           None)  # fmt: skip
    assert "Content-Type" not in request.headers


def test_a_response_with_a_null_error_is_an_answer() -> None:
    body = b'{"id": "resp_1", "object": "response", "error": null, "output": []}'
    assert ADAPTER.read_body(call("responses"), body) == body


def test_a_responses_answer_without_an_id_is_invalid() -> None:
    with pytest.raises(InvalidUpstreamResponse):
        ADAPTER.read_body(call("responses"), b'{"error": {"message": "x"}}')


@pytest.mark.parametrize("resource", ["..", "resp_a/../../models", "resp?x=1", "resp#a", "resp%2F"])
def test_a_response_id_that_is_not_one_path_segment_is_refused(resource: str) -> None:
    held = Call("p", "m", "responses", b"", method="GET", resource=resource)
    with pytest.raises(InvalidRequest, match="not a valid response id"):
        ADAPTER.request(held, "sk-1")


@pytest.mark.parametrize("status", [403, 404])
def test_model_not_found_is_this_model_refused_for_this_key(status: int) -> None:
    body = b'{"error": {"message": "The model o3 does not exist", "code": "model_not_found"}}'
    assert type(ADAPTER.classify(status, {}, body, 0.0)) is UpstreamModelRefused
