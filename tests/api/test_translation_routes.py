"""Translation seen from the routes, in memory: what reaches each upstream on the wire, what is refused, which
model an answer names, which shape errors and the model list take, and what usage is recorded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from api.sdk_support import all_protocols
from keyproxy.testing import AppClient, ASGITransport, FakeUpstream, Fault, FaultKind, RecordingSink, Response
from keyproxy.wiring import build_app
from support import KEYS, MEMORY_BASE, proxy_settings

HELLO: list[Any] = [{"role": "user", "content": "hi"}]
VERSION = {"anthropic-version": "2023-06-01"}
SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"], "additionalProperties": False}


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def proxy(fake_upstream: FakeUpstream, sink: RecordingSink, tmp_path: Any) -> Iterator[AppClient]:
    settings = proxy_settings({**all_protocols(MEMORY_BASE), "KEYPROXY_STATE": "memory"}, tmp_path)
    with AppClient(build_app(settings, transport=ASGITransport(fake_upstream), events=sink)) as client:
        yield client


def chat(proxy: AppClient, model: str, **fields: Any) -> Response:
    return proxy.post("/v1/chat/completions", json={"model": model, "messages": HELLO, **fields})


def messages(proxy: AppClient, model: str, **fields: Any) -> Response:
    body = {"model": model, "max_tokens": 64, "messages": HELLO, **fields}
    return proxy.post("/v1/messages", json=body, headers=VERSION)


def sent(upstream: FakeUpstream) -> dict[str, Any]:
    return upstream.requests[-1].body


def chunks(response: Response) -> list[Any]:
    datas = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    return [msgspec.json.decode(data) for data in datas if data != "[DONE]"]


def test_json_schema_reaches_anthropic_as_output_config(proxy: AppClient, fake_upstream: FakeUpstream) -> None:
    response_format = {"type": "json_schema", "json_schema": {"name": "n", "strict": True, "schema": SCHEMA}}
    answer = chat(proxy, "anthropic/fake-chat", response_format=response_format).json()
    assert sent(fake_upstream)["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    assert msgspec.json.decode(answer["choices"][0]["message"]["content"]) == {"n": 0}


def test_json_schema_reaches_gemini_as_a_response_schema(proxy: AppClient, fake_upstream: FakeUpstream) -> None:
    response_format = {"type": "json_schema", "json_schema": {"name": "n", "schema": SCHEMA}}
    chat(proxy, "gemini/fake-chat", response_format=response_format)
    config = sent(fake_upstream)["generationConfig"]
    assert (config["responseMimeType"], config["responseSchema"]["properties"]) == (
        "application/json",
        {"n": {"type": "integer"}},
    )


def test_json_object_towards_anthropic_is_refused_naming_the_field_and_provider(
    proxy: AppClient, fake_upstream: FakeUpstream
) -> None:
    response = chat(proxy, "anthropic/fake-chat", response_format={"type": "json_object"})
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "json_object" in message and "json_schema" in message and "provider 'anthropic'" in message
    assert fake_upstream.requests == []


@pytest.mark.parametrize(("field", "value"), [("logprobs", True), ("n", 2), ("seed", 1)])
def test_what_anthropic_cannot_honour_is_refused_before_any_upstream_call(
    proxy: AppClient, fake_upstream: FakeUpstream, field: str, value: Any
) -> None:
    response = chat(proxy, "anthropic/fake-chat", **{field: value})
    assert response.status_code == 400
    assert field in response.json()["error"]["message"]
    assert fake_upstream.requests == []


def test_output_config_format_reaches_an_openai_upstream_as_response_format(
    proxy: AppClient, fake_upstream: FakeUpstream
) -> None:
    reply = messages(proxy, "fake/fake-chat", output_config={"format": {"type": "json_schema", "schema": SCHEMA}})
    assert sent(fake_upstream)["response_format"]["json_schema"] == {
        "name": "response",
        "schema": SCHEMA,
        "strict": True,
    }
    assert msgspec.json.decode(reply.json()["content"][0]["text"]) == {"n": 0}


def test_output_config_format_reaches_gemini_as_a_response_schema(
    proxy: AppClient, fake_upstream: FakeUpstream
) -> None:
    messages(proxy, "gemini/fake-chat", output_config={"format": {"type": "json_schema", "schema": SCHEMA}})
    assert sent(fake_upstream)["generationConfig"]["responseMimeType"] == "application/json"


def test_adaptive_thinking_reaches_openai_and_gemini(proxy: AppClient, fake_upstream: FakeUpstream) -> None:
    messages(proxy, "fake/fake-chat", thinking={"type": "adaptive"}, output_config={"effort": "high"})
    assert sent(fake_upstream)["reasoning_effort"] == "high"
    reply = messages(proxy, "gemini/fake-chat", thinking={"type": "adaptive"}).json()
    assert sent(fake_upstream)["generationConfig"]["thinkingConfig"] == {
        "thinkingBudget": 8192,
        "includeThoughts": True,
    }
    assert reply["content"][0]["type"] == "thinking"


def test_an_anthropic_field_chat_completions_cannot_honour_is_refused_in_anthropics_shape(proxy: AppClient) -> None:
    response = messages(proxy, "fake/fake-chat", container="container_1")
    assert response.status_code == 400
    assert response.json()["type"] == "error"
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "container" in response.json()["error"]["message"]


@pytest.mark.parametrize("model", ["anthropic/fake-chat", "gemini/fake-chat"])
def test_a_translated_answer_names_the_model_as_the_client_did(proxy: AppClient, model: str) -> None:
    assert chat(proxy, model).json()["model"] == model
    assert {chunk["model"] for chunk in chunks(chat(proxy, model, stream=True))} == {model}


@pytest.mark.parametrize("model", ["anthropic/fake-chat", "gemini/fake-chat"])
def test_a_translated_stream_without_usage_still_records_its_tokens(
    proxy: AppClient, sink: RecordingSink, model: str
) -> None:
    streamed = chunks(chat(proxy, model, stream=True))
    assert all(chunk["choices"] and "usage" not in chunk for chunk in streamed)
    tokens = sink.events[-1].tokens
    assert tokens is not None and not tokens.estimated
    assert (tokens.prompt, tokens.completion) == (1, 2)  # "hi" in, "Echo: hi" out


def test_a_gemini_error_reaches_an_openai_client_in_openais_shape(
    proxy: AppClient, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.set_fault(KEYS[0], Fault(FaultKind.BAD_REQUEST))
    response = chat(proxy, "gemini/fake-chat")
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_argument")
    assert "status" not in error


def test_an_anthropic_error_reaches_an_openai_client_in_openais_shape(
    proxy: AppClient, fake_upstream: FakeUpstream
) -> None:
    for key in KEYS:  # a model refused by one key alone is tried on the next
        fake_upstream.set_fault(key, Fault(FaultKind.NOT_FOUND))
    response = chat(proxy, "anthropic/fake-chat")
    assert response.status_code == 404
    assert "type" not in response.json()
    assert response.json()["error"]["code"] == "model_not_found"


def test_an_openai_error_reaches_an_openai_client_as_it_was(proxy: AppClient, fake_upstream: FakeUpstream) -> None:
    fake_upstream.set_fault(KEYS[0], Fault(FaultKind.BAD_REQUEST))
    error = chat(proxy, "fake/fake-chat").json()["error"]
    assert (error["code"], error["param"]) == ("context_length_exceeded", "messages")


def test_token_id_embeddings_towards_gemini_are_refused_naming_the_fix(proxy: AppClient) -> None:
    body = {"model": "gemini/fake-embed", "input": [[9906, 1917]]}
    response = proxy.post("/v1/embeddings", json=body)
    assert response.status_code == 400
    assert "check_embedding_ctx_length=False" in response.json()["error"]["message"]


def test_an_anthropic_client_gets_anthropics_model_list(proxy: AppClient) -> None:
    page = proxy.get("/v1/models", headers=VERSION).json()
    assert set(page) == {"data", "has_more", "first_id", "last_id"}
    assert page["data"][0] == {"type": "model", "id": page["first_id"], "display_name": page["first_id"],
                               "created_at": "1970-01-01T00:00:00Z"}  # fmt: skip


def test_the_anthropic_model_list_pages_with_limit_and_cursors(proxy: AppClient) -> None:
    every = [model["id"] for model in proxy.get("/v1/models?limit=1000", headers=VERSION).json()["data"]]
    first = proxy.get("/v1/models?limit=2", headers=VERSION).json()
    assert [m["id"] for m in first["data"]] == every[:2] and first["has_more"] is True
    second = proxy.get(f"/v1/models?limit=2&after_id={first['last_id']}", headers=VERSION).json()
    assert [m["id"] for m in second["data"]] == every[2:4]
    back = proxy.get(f"/v1/models?limit=5&before_id={second['first_id']}", headers=VERSION).json()
    assert [m["id"] for m in back["data"]] == every[:2] and back["has_more"] is False


def test_a_bad_model_list_limit_is_an_anthropic_error(proxy: AppClient) -> None:
    response = proxy.get("/v1/models?limit=0", headers=VERSION)
    assert (response.status_code, response.json()["type"]) == (400, "error")


def test_an_unknown_model_is_an_anthropic_404_for_an_anthropic_client(proxy: AppClient) -> None:
    response = proxy.get("/v1/models/nosuch/model", headers=VERSION)
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"


def test_an_openai_client_still_gets_openais_model_list(proxy: AppClient) -> None:
    assert proxy.get("/v1/models").json()["object"] == "list"
