from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest

from keyproxy.testing import GEMINI_BLOCKED_MODEL, BackgroundServer, FakeUpstream, Fault, FaultKind

KEY = "AIza-fake-0001-abcdefghijkl"
GENERATE = "/v1beta/models/fake-chat:generateContent"
STREAM = "/v1beta/models/fake-chat:streamGenerateContent?alt=sse"
HELLO: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": "hello world"}]}]}
TOOLS: list[Any] = [
    {
        "functionDeclarations": [
            {
                "name": "get_weather",
                "parameters": {
                    "type": "OBJECT",
                    "properties": {"city": {"type": "STRING"}, "days": {"type": "INTEGER"}},
                    "required": ["city", "days"],
                },
            },
            {"name": "get_time"},
        ]
    }
]
RPC = "type.googleapis.com/google.rpc."


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
def http(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, headers={"x-goog-api-key": KEY}) as http:
        yield http


def generate(http: httpx.Client, **body: Any) -> dict[str, Any]:
    response = http.post(GENERATE, json={**HELLO, **body})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def parts_of(answer: dict[str, Any]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = answer["candidates"][0]["content"]["parts"]
    return parts


def sse_events(raw: bytes) -> list[dict[str, Any]]:
    """The events of a Gemini stream, checking the framing: `data: <json>` each ended by CRLF CRLF."""
    assert raw.endswith(b"\r\n\r\n")
    frames = raw.split(b"\r\n\r\n")[:-1]
    assert all(frame.startswith(b"data: ") and b"\n" not in frame for frame in frames)
    return [msgspec.json.decode(frame[6:]) for frame in frames]


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert set(response.json()) == {"error"}
    error: dict[str, Any] = response.json()["error"]
    return error


def test_generate_content_has_exactly_geminis_shape(http: httpx.Client, upstream: FakeUpstream) -> None:
    assert generate(http) == {
        "candidates": [
            {
                "content": {"parts": [{"text": "Echo: hello world"}], "role": "model"},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 3, "totalTokenCount": 5},
        "modelVersion": "fake-chat",
    }


def test_generate_echoes_the_last_user_content(http: httpx.Client, upstream: FakeUpstream) -> None:
    contents = [
        {"role": "user", "parts": [{"text": "first"}]},
        {"role": "model", "parts": [{"text": "ok"}]},
        {"role": "user", "parts": [{"text": "look"}, {"text": "here"}]},
    ]
    answer = generate(http, contents=contents, systemInstruction={"parts": [{"text": "be brief"}]})
    assert parts_of(answer) == [{"text": "Echo: look here"}]
    assert answer["usageMetadata"]["promptTokenCount"] == 6


def test_inline_images_are_counted(http: httpx.Client, upstream: FakeUpstream) -> None:
    image = {"inlineData": {"mimeType": "image/png", "data": "AAAA"}}
    contents = [{"role": "user", "parts": [{"text": "see"}, image, image]}]
    assert parts_of(generate(http, contents=contents)) == [{"text": "Echo: see [2 images]"}]


def test_the_key_may_come_as_a_query_parameter(url: str, upstream: FakeUpstream) -> None:
    response = httpx.post(f"{url}{GENERATE}?key={KEY}", json=HELLO)
    assert response.status_code == 200
    assert upstream.requests[-1].key == KEY
    assert upstream.stats[KEY].responses == {200: 1}


def test_requests_are_recorded_with_path_key_and_body(http: httpx.Client, upstream: FakeUpstream) -> None:
    generate(http)
    [request] = upstream.requests
    assert (request.method, request.path, request.key) == ("POST", GENERATE, KEY)
    assert request.body == HELLO


def test_missing_key_is_refused_with_403(url: str, upstream: FakeUpstream) -> None:
    response = httpx.post(f"{url}{GENERATE}", json=HELLO)
    assert response.status_code == 403
    assert error_of(response)["status"] == "PERMISSION_DENIED"


def test_tools_answer_with_a_call_of_the_first_function(http: httpx.Client, upstream: FakeUpstream) -> None:
    answer = generate(http, tools=TOOLS)
    assert parts_of(answer) == [{"functionCall": {"name": "get_weather", "args": {"city": "fake"}}}]
    assert answer["candidates"][0]["finishReason"] == "STOP"


def test_mode_any_with_allowed_names_calls_the_allowed_function(http: httpx.Client, upstream: FakeUpstream) -> None:
    config = {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_time"]}}
    assert parts_of(generate(http, tools=TOOLS, toolConfig=config)) == [
        {"functionCall": {"name": "get_time", "args": {}}}
    ]


def test_mode_none_answers_with_text(http: httpx.Client, upstream: FakeUpstream) -> None:
    config = {"functionCallingConfig": {"mode": "NONE"}}
    assert parts_of(generate(http, tools=TOOLS, toolConfig=config)) == [{"text": "Echo: hello world"}]


def test_proto_field_names_are_accepted_too(http: httpx.Client, upstream: FakeUpstream) -> None:
    tools = [{"function_declarations": TOOLS[0]["functionDeclarations"]}]
    config = {"function_calling_config": {"mode": "NONE"}}
    assert "functionCall" in parts_of(generate(http, tools=tools))[0]
    assert parts_of(generate(http, tools=tools, tool_config=config)) == [{"text": "Echo: hello world"}]


def test_function_response_is_answered_with_its_json(http: httpx.Client, upstream: FakeUpstream) -> None:
    call = {"functionCall": {"name": "get_weather", "args": {"city": "fake"}}}
    result = {"functionResponse": {"name": "get_weather", "response": {"sky": "sunny", "degrees": 21}}}
    contents = [*HELLO["contents"], {"role": "model", "parts": [call]}, {"role": "user", "parts": [result]}]
    answer = generate(http, contents=contents, tools=TOOLS)
    assert parts_of(answer) == [{"text": 'Tool said: {"sky":"sunny","degrees":21}'}]


def test_thoughts_lead_when_asked_for(http: httpx.Client, upstream: FakeUpstream) -> None:
    answer = generate(http, generationConfig={"thinkingConfig": {"includeThoughts": True}})
    assert parts_of(answer) == [{"text": "Thinking about it.", "thought": True}, {"text": "Echo: hello world"}]
    assert answer["usageMetadata"] == {
        "promptTokenCount": 2,
        "candidatesTokenCount": 3,
        "totalTokenCount": 8,
        "thoughtsTokenCount": 3,
    }


def test_blocked_model_answers_prompt_feedback_without_candidates(http: httpx.Client, upstream: FakeUpstream) -> None:
    assert GEMINI_BLOCKED_MODEL == "blocked-model"
    response = http.post(f"/v1beta/models/{GEMINI_BLOCKED_MODEL}:generateContent", json=HELLO)
    assert response.status_code == 200
    assert response.json()["promptFeedback"] == {"blockReason": "SAFETY"}
    assert "candidates" not in response.json()


def test_contents_are_required(http: httpx.Client, upstream: FakeUpstream) -> None:
    response = http.post(GENERATE, json={"contents": []})
    assert response.status_code == 400
    assert error_of(response)["status"] == "INVALID_ARGUMENT"


def test_stream_is_sse_framed_with_crlf_and_no_done(http: httpx.Client, upstream: FakeUpstream) -> None:
    with http.stream("POST", STREAM, json={"contents": [{"parts": [{"text": "hello big world"}]}]}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read()
    assert b"[DONE]" not in raw
    events = sse_events(raw)
    assert len(events) == 4
    assert "".join(parts_of(event)[0]["text"] for event in events) == "Echo: hello big world"
    assert all("finishReason" not in e["candidates"][0] and "usageMetadata" not in e for e in events[:-1])
    assert events[-1]["candidates"][0]["finishReason"] == "STOP"
    assert events[-1]["usageMetadata"] == {"promptTokenCount": 3, "candidatesTokenCount": 4, "totalTokenCount": 7}
    assert {event["modelVersion"] for event in events} == {"fake-chat"}


def test_stream_of_an_empty_prompt_still_has_two_events(http: httpx.Client, upstream: FakeUpstream) -> None:
    events = sse_events(http.post(STREAM, json={"contents": [{"parts": [{"text": ""}]}]}).content)
    assert len(events) == 2
    assert "".join(parts_of(event)[0]["text"] for event in events) == "Echo: "


def test_stream_sends_thoughts_and_calls_whole(http: httpx.Client, upstream: FakeUpstream) -> None:
    thinking = {"thinkingConfig": {"includeThoughts": True}}
    events = sse_events(http.post(STREAM, json={**HELLO, "tools": TOOLS, "generationConfig": thinking}).content)
    assert [parts_of(event) for event in events] == [
        [{"text": "Thinking about it.", "thought": True}],
        [{"functionCall": {"name": "get_weather", "args": {"city": "fake"}}}],
    ]
    assert events[-1]["candidates"][0]["finishReason"] == "STOP"


def test_stream_without_alt_sse_is_a_json_array(http: httpx.Client, upstream: FakeUpstream) -> None:
    response = http.post("/v1beta/models/fake-chat:streamGenerateContent", json=HELLO)
    assert response.headers["content-type"] == "application/json"
    chunks = response.json()
    assert "".join(parts_of(chunk)[0]["text"] for chunk in chunks) == "Echo: hello world"


def test_blocked_model_streams_one_event_of_prompt_feedback(http: httpx.Client, upstream: FakeUpstream) -> None:
    raw = http.post("/v1beta/models/blocked-model:streamGenerateContent?alt=sse", json=HELLO).content
    [event] = sse_events(raw)
    assert event["promptFeedback"] == {"blockReason": "SAFETY"}


def test_batch_embeddings_are_eight_floats_deterministic_per_text(http: httpx.Client, upstream: FakeUpstream) -> None:
    def embed(*texts: str) -> list[list[float]]:
        requests = [{"model": "models/fake-embed", "content": {"parts": [{"text": text}]}} for text in texts]
        response = http.post("/v1beta/models/fake-embed:batchEmbedContents", json={"requests": requests})
        return [embedding["values"] for embedding in response.json()["embeddings"]]

    same, other = embed("same", "different")
    assert len(same) == 8
    assert embed("same") == [same]
    assert same != other
    assert sum(value * value for value in same) == pytest.approx(1.0, rel=1e-5)


def test_embed_content_matches_the_batch(http: httpx.Client, upstream: FakeUpstream) -> None:
    content = {"parts": [{"text": "alpha"}]}
    single = http.post("/v1beta/models/fake-embed:embedContent", json={"content": content}).json()
    batch = http.post("/v1beta/models/fake-embed:batchEmbedContents", json={"requests": [{"content": content}]})
    assert single == {"embedding": batch.json()["embeddings"][0]}


def test_count_tokens_counts_words(http: httpx.Client, upstream: FakeUpstream) -> None:
    response = http.post("/v1beta/models/fake-chat:countTokens", json={"contents": [{"parts": [{"text": "a b c"}]}]})
    assert response.json() == {"totalTokens": 3}
    wrapped = {"generateContentRequest": {"model": "models/fake-chat", **HELLO}}
    assert http.post("/v1beta/models/fake-chat:countTokens", json=wrapped).json() == {"totalTokens": 2}


def test_models_list_the_configured_ids_with_their_methods(http: httpx.Client, upstream: FakeUpstream) -> None:
    models = http.get("/v1beta/models").json()["models"]
    assert [(model["name"], model["supportedGenerationMethods"]) for model in models] == [
        ("models/fake-chat", ["generateContent", "countTokens"]),
        ("models/fake-chat-large", ["generateContent", "countTokens"]),
        ("models/fake-embed", ["embedContent"]),
    ]
    assert http.get("/v1beta/models/fake-embed").json()["name"] == "models/fake-embed"
    assert http.get("/v1beta/models/nothing").status_code == 404


def test_unknown_paths_are_google_shaped_404s(http: httpx.Client, upstream: FakeUpstream) -> None:
    for response in (http.post("/v1beta/models/fake-chat:dance", json=HELLO), http.get("/v1beta/tunedModels")):
        assert response.status_code == 404
        assert error_of(response)["status"] == "NOT_FOUND"


def quota_details(quota_id: str, delay: str) -> list[dict[str, Any]]:
    violation = {
        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
        "quotaId": quota_id,
    }
    return [
        {"@type": RPC + "QuotaFailure", "violations": [violation]},
        {"@type": RPC + "RetryInfo", "retryDelay": delay},
    ]


@pytest.mark.parametrize(
    ("kind", "status", "google_status", "message_start"),
    [
        (FaultKind.RATE_LIMIT, 429, "RESOURCE_EXHAUSTED", "You exceeded your current quota"),
        (FaultKind.QUOTA, 429, "RESOURCE_EXHAUSTED", "You exceeded your current quota"),
        (FaultKind.UNAUTHORIZED, 400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."),
        (FaultKind.FORBIDDEN, 403, "PERMISSION_DENIED", "The caller does not have permission"),
        (FaultKind.SERVER_ERROR, 500, "INTERNAL", "An internal error has occurred."),
        (FaultKind.UNAVAILABLE, 503, "UNAVAILABLE", "The service is currently unavailable."),
        (FaultKind.OVERLOADED, 503, "UNAVAILABLE", "The model is overloaded."),
        (FaultKind.BAD_REQUEST, 400, "INVALID_ARGUMENT", "The input token count exceeds"),
        (FaultKind.NOT_FOUND, 404, "NOT_FOUND", "models/fake-chat is not found"),
        (FaultKind.UNPROCESSABLE, 400, "INVALID_ARGUMENT", "Request contains an invalid argument."),
    ],
)
def test_error_faults_answer_in_googles_shape(
    http: httpx.Client, upstream: FakeUpstream, kind: FaultKind, status: int, google_status: str, message_start: str
) -> None:
    upstream.set_fault(KEY, Fault(kind, times=1))
    response = http.post(GENERATE, json=HELLO)
    assert response.status_code == status
    error = error_of(response)
    assert (error["code"], error["status"]) == (status, google_status)
    assert error["message"].startswith(message_start)


def test_rate_limit_details_name_the_per_minute_quota_and_default_retry_delay(
    http: httpx.Client, upstream: FakeUpstream
) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.RATE_LIMIT))
    error = error_of(http.post(GENERATE, json=HELLO))
    assert error["details"] == quota_details("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "30s")


def test_quota_details_name_the_per_day_quota_and_the_fault_retry_delay(
    http: httpx.Client, upstream: FakeUpstream
) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.QUOTA, retry_after=12))
    response = http.post(GENERATE, json=HELLO)
    assert error_of(response)["details"] == quota_details("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "12s")
    assert response.headers["retry-after"] == "12"


def test_unauthorized_is_400_api_key_invalid(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.UNAUTHORIZED))
    details = error_of(http.post(GENERATE, json=HELLO))["details"]
    assert details[0] == {
        "@type": RPC + "ErrorInfo",
        "reason": "API_KEY_INVALID",
        "domain": "googleapis.com",
        "metadata": {"service": "generativelanguage.googleapis.com"},
    }


def test_unknown_key_is_400_api_key_invalid() -> None:
    upstream = FakeUpstream(keys=["AIza-known-000000000"])
    with BackgroundServer(upstream) as server:
        response = httpx.post(f"{server.url}{GENERATE}?key=AIza-other-000000000", json=HELLO)
    assert response.status_code == 400
    assert error_of(response)["details"][0]["reason"] == "API_KEY_INVALID"


def test_errors_without_details_leave_them_out(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.OVERLOADED))
    assert set(error_of(http.post(GENERATE, json=HELLO))) == {"code", "message", "status"}


def test_faults_apply_to_every_gemini_route(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.SERVER_ERROR))
    assert http.post(STREAM, json=HELLO).status_code == 500
    assert http.post("/v1beta/models/fake-chat:countTokens", json=HELLO).status_code == 500
    assert http.get("/v1beta/models").status_code == 500


def test_garbage_is_200_json_that_does_not_parse(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.GARBAGE))
    response = http.post(GENERATE, json=HELLO)
    assert (response.status_code, response.text) == (200, "not json at all <html>")


def test_cut_after_first_chunk_breaks_the_stream_after_one_event(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.CUT_AFTER_FIRST_CHUNK))
    received: list[bytes] = []
    with http.stream("POST", STREAM, json=HELLO) as response, pytest.raises(httpx.RemoteProtocolError):
        received.extend(response.iter_raw())
    assert b"".join(received).count(b"data: ") == 1


def test_cut_before_first_chunk_breaks_the_stream_after_its_headers(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.CUT_BEFORE_FIRST_CHUNK))
    with http.stream("POST", STREAM, json=HELLO) as response:
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            response.read()


def test_one_key_shares_faults_and_stats_across_protocols(url: str, upstream: FakeUpstream) -> None:
    upstream.set_fault(KEY, Fault(FaultKind.RATE_LIMIT, times=2))
    openai = {"model": "fake-chat", "messages": [{"role": "user", "content": "hi"}]}
    anthropic = {**openai, "max_tokens": 8}
    statuses = [
        httpx.post(f"{url}/v1/chat/completions", json=openai, headers={"authorization": f"Bearer {KEY}"}).status_code,
        httpx.post(
            f"{url}/v1/messages", json=anthropic, headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"}
        ).status_code,
        httpx.post(f"{url}{GENERATE}", json=HELLO, headers={"x-goog-api-key": KEY}).status_code,
    ]
    assert statuses == [429, 429, 200]
    assert upstream.stats[KEY].responses == {429: 2, 200: 1}
