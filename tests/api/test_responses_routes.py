"""/v1/responses in memory: what reaches each kind of upstream, which key a kept response belongs to, what is
stored, and errors in the Responses API's shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from keyproxy.testing import AppClient, ASGITransport, FakeUpstream, Fault, FaultKind, RecordingSink
from keyproxy.wiring import build_app
from support import KEYS, MEMORY_BASE, KeyId, OpenProxy, provider_env, proxy_settings

NATIVE = {**provider_env(MEMORY_BASE), "RESPONSES_API_FAKE": "native"}
TOOLS: list[Any] = [{"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {}}}]


def kinds(base: str = MEMORY_BASE) -> dict[str, str]:
    env = provider_env(base)
    env.update(provider_env(base, name="openai"))
    env.update(provider_env(base, name="anthropic"))
    env.update(provider_env(base.removesuffix("/v1") + "/v1beta", name="gemini"))
    return env


def events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def test_a_native_upstream_gets_the_clients_bytes_with_only_the_model_changed(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    body = {"model": "fake/fake-chat", "input": "hi", "include": ["reasoning.encrypted_content"], "store": True}
    response = open_proxy(providers=NATIVE).post("/v1/responses", json=body)
    assert response.status_code == 200
    [sent] = fake_upstream.requests
    assert (sent.method, sent.path) == ("POST", "/v1/responses")
    assert sent.body == {**body, "model": "fake-chat"}


def test_a_custom_provider_is_translated_unless_it_opts_in(open_proxy: OpenProxy, fake_upstream: FakeUpstream) -> None:
    open_proxy().post("/v1/responses", json={"model": "fake/fake-chat", "input": "hi"})
    assert [request.path for request in fake_upstream.requests] == ["/v1/chat/completions"]


def test_the_openai_provider_is_native_by_the_catalogue(open_proxy: OpenProxy, fake_upstream: FakeUpstream) -> None:
    open_proxy(providers=kinds()).post("/v1/responses", json={"model": "openai/fake-chat", "input": "hi"})
    assert [request.path for request in fake_upstream.requests] == ["/v1/responses"]


def test_a_translated_request_reaches_chat_with_instructions_first(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    body = {"model": "fake/fake-chat", "input": "hi", "instructions": "Be brief.", "max_output_tokens": 50,
            "reasoning": {"effort": "low"}, "tools": TOOLS, "tool_choice": "required"}  # fmt: skip
    open_proxy().post("/v1/responses", json=body)
    [sent] = fake_upstream.requests
    assert sent.body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    assert (sent.body["max_tokens"], sent.body["reasoning_effort"], sent.body["tool_choice"]) == (50, "low", "required")
    assert sent.body["tools"][0]["function"]["name"] == "lookup"


def test_a_continued_native_response_goes_to_the_key_that_made_it(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    proxy = open_proxy(providers=NATIVE)
    first = proxy.post("/v1/responses", json={"model": "fake/fake-chat", "input": "a"}).json()
    body = {"model": "fake/fake-chat", "input": "b", "previous_response_id": first["id"]}
    second = proxy.post("/v1/responses", json=body)
    assert second.status_code == 200
    # Balanced rotation alone would have sent the second request to the next key.
    assert [request.key for request in fake_upstream.requests] == [KEYS[0], KEYS[0]]


def test_get_and_delete_of_a_native_response_use_the_key_that_made_it(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    proxy = open_proxy(providers=NATIVE)
    proxy.post("/v1/responses", json={"model": "fake/fake-chat", "input": "other"})
    made = proxy.post("/v1/responses", json={"model": "fake/fake-chat", "input": "mine"}).json()
    assert proxy.get(f"/v1/responses/{made['id']}").json()["output"] == made["output"]
    assert proxy.request("DELETE", f"/v1/responses/{made['id']}").json()["deleted"] is True
    assert proxy.get(f"/v1/responses/{made['id']}").status_code == 404
    assert [(r.method, r.key) for r in fake_upstream.requests[1:]] == [("POST", KEYS[1]), ("GET", KEYS[1]),
                                                                       ("DELETE", KEYS[1])]  # fmt: skip


def test_reading_a_native_response_counts_no_tokens(fake_upstream: FakeUpstream, tmp_path: Path) -> None:
    sink = RecordingSink()
    settings = proxy_settings({**NATIVE, "KEYPROXY_STATE": "memory"}, tmp_path)
    with AppClient(build_app(settings, transport=ASGITransport(fake_upstream), events=sink)) as proxy:
        made = proxy.post("/v1/responses", json={"model": "fake/fake-chat", "input": "one two three"}).json()
        proxy.get(f"/v1/responses/{made['id']}")
    created, read = (event.tokens for event in sink.events)
    assert created is not None and (created.prompt, created.completion) == (3, 4)
    assert read is not None and (read.prompt, read.completion, read.estimated) == (0, 0, False)


def test_a_native_streams_usage_is_counted(fake_upstream: FakeUpstream, tmp_path: Path) -> None:
    sink = RecordingSink()
    settings = proxy_settings({**NATIVE, "KEYPROXY_STATE": "memory"}, tmp_path)
    with AppClient(build_app(settings, transport=ASGITransport(fake_upstream), events=sink)) as proxy:
        proxy.post("/v1/responses", json={"model": "fake/fake-chat", "input": "one two three", "stream": True})
    [event] = sink.events
    assert event.tokens is not None and (event.tokens.prompt, event.tokens.completion) == (3, 4)
    assert not event.tokens.estimated


def test_a_native_response_cannot_be_continued_on_another_provider(open_proxy: OpenProxy) -> None:
    proxy = open_proxy(providers=kinds())
    made = proxy.post("/v1/responses", json={"model": "openai/fake-chat", "input": "a"}).json()
    body = {"model": "gemini/fake-chat", "input": "b", "previous_response_id": made["id"]}
    answer = proxy.post("/v1/responses", json=body)
    assert answer.status_code == 400
    assert "openai" in answer.json()["error"]["message"]


def test_a_kept_conversation_continues_on_a_native_upstream_as_replayed_input(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    proxy = open_proxy(providers=kinds())
    made = proxy.post("/v1/responses", json={"model": "gemini/fake-chat", "input": "a"}).json()
    proxy.post("/v1/responses", json={"model": "openai/fake-chat", "input": "b", "previous_response_id": made["id"]})
    sent = fake_upstream.requests[-1].body
    assert "previous_response_id" not in sent
    assert [item.get("role") for item in sent["input"]] == ["user", "assistant", "user"]
    assert all("id" not in item for item in sent["input"])


def test_a_chain_of_kept_responses_is_one_conversation_without_earlier_instructions(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    proxy = open_proxy()
    previous = None
    for number, word in enumerate(("one", "two", "three")):
        body = {"model": "fake/fake-chat", "input": word, "instructions": f"rule {number}",
                "previous_response_id": previous}  # fmt: skip
        previous = proxy.post("/v1/responses", json=body).json()["id"]
    sent = fake_upstream.requests[-1].body["messages"]
    assert sent == [
        {"role": "system", "content": "rule 2"},
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "Echo: one"},
        {"role": "user", "content": "two"},
        {"role": "assistant", "content": "Echo: two"},
        {"role": "user", "content": "three"},
    ]


def test_store_false_keeps_nothing(open_proxy: OpenProxy) -> None:
    proxy = open_proxy()
    made = proxy.post("/v1/responses", json={"model": "fake/fake-chat", "input": "a", "store": False}).json()
    assert made["store"] is False
    assert proxy.get(f"/v1/responses/{made['id']}").status_code == 404


def test_a_retention_of_zero_days_keeps_nothing(open_proxy: OpenProxy) -> None:
    proxy = open_proxy({"KEYPROXY_RESPONSES_RETENTION_DAYS": "0"})
    made = proxy.post("/v1/responses", json={"model": "fake/fake-chat", "input": "a"}).json()
    assert made["store"] is False
    assert proxy.get(f"/v1/responses/{made['id']}").status_code == 404


def test_an_unknown_previous_response_is_a_400_naming_the_field(open_proxy: OpenProxy) -> None:
    answer = open_proxy().post("/v1/responses", json={"model": "fake/fake-chat", "input": "a",
                                                      "previous_response_id": "resp_nope"})  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["error"] == {"message": "Previous response with id 'resp_nope' not found.",
                                      "type": "invalid_request_error", "param": "previous_response_id",
                                      "code": "previous_response_not_found"}  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value"),
    [("conversation", "conv_1"), ("tools", [{"type": "web_search"}]), ("truncation", "auto"),
     ("background", True), ("top_logprobs", 3)],
)  # fmt: skip
def test_what_chat_cannot_carry_is_a_400_before_any_upstream_call(
    field: str, value: object, open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    answer = open_proxy().post("/v1/responses", json={"model": "fake/fake-chat", "input": "a", field: value})
    assert answer.status_code == 400
    assert answer.json()["error"]["type"] == "invalid_request_error"
    assert fake_upstream.requests == []


def test_a_json_schema_format_reaches_an_anthropic_target_as_its_output_format(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    proxy = open_proxy(providers=kinds())
    schema = {"type": "object", "properties": {}, "additionalProperties": False}
    form = {"format": {"type": "json_schema", "name": "w", "schema": schema}}
    answer = proxy.post("/v1/responses", json={"model": "anthropic/fake-chat", "input": "a", "text": form})
    assert answer.status_code == 200
    [sent] = fake_upstream.requests
    assert sent.path == "/v1/messages"
    assert sent.body["output_config"]["format"]["schema"] == schema


def test_upstream_errors_come_back_in_the_responses_shape(open_proxy: OpenProxy, fake_upstream: FakeUpstream) -> None:
    for key in KEYS:
        fake_upstream.set_fault(key, Fault(FaultKind.RATE_LIMIT, retry_after=30))
    answer = open_proxy().post("/v1/responses", json={"model": "fake/fake-chat", "input": "a"})
    assert answer.status_code == 429
    assert set(answer.json()["error"]) == {"message", "type", "param", "code"}
    assert answer.headers["retry-after"] == "30"


@pytest.mark.parametrize("providers", [NATIVE, provider_env(MEMORY_BASE)], ids=["native", "translated"])
def test_a_stream_cut_after_its_first_chunk_ends_with_a_numbered_error_event(
    providers: dict[str, str], open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.set_fault(KEYS[0], Fault(FaultKind.CUT_AFTER_FIRST_CHUNK))
    answer = open_proxy(providers=providers).post(
        "/v1/responses", json={"model": "fake/fake-chat", "input": "a b c d", "stream": True}
    )
    sent = events(answer.text)
    assert "response.completed" not in answer.text
    assert sent[-1]["type"] == "error" and sent[-1]["code"] == "stream_interrupted"
    assert [event["sequence_number"] for event in sent] == list(range(len(sent)))


def test_a_streamed_translated_response_is_kept_before_its_end_is_sent(open_proxy: OpenProxy) -> None:
    proxy = open_proxy()
    answer = proxy.post("/v1/responses", json={"model": "fake/fake-chat", "input": "a b", "stream": True})
    final = events(answer.text)[-1]["response"]
    assert proxy.get(f"/v1/responses/{final['id']}").json() == final


def test_a_pinned_key_that_is_no_longer_configured_makes_the_response_not_found(
    fake_upstream: FakeUpstream, tmp_path: Path, key_id: KeyId
) -> None:
    with AppClient(build_app(proxy_settings(NATIVE, tmp_path), transport=ASGITransport(fake_upstream))) as proxy:
        made = proxy.post("/v1/responses", json={"model": "fake/fake-chat", "input": "a"}).json()
    fewer = {**NATIVE, "FAKE_API_KEY_1": ""}
    with AppClient(build_app(proxy_settings(fewer, tmp_path), transport=ASGITransport(fake_upstream))) as proxy:
        assert proxy.get(f"/v1/responses/{made['id']}").status_code == 404
    assert key_id(KEYS[0]) not in str(made)


def test_a_path_under_a_response_is_not_found_in_the_responses_shape(open_proxy: OpenProxy) -> None:
    answer = open_proxy().get("/v1/responses/resp_1/input_items")
    assert answer.status_code == 404
    assert "param" in answer.json()["error"]


def test_the_bare_path_without_v1_is_served_too(open_proxy: OpenProxy) -> None:
    assert open_proxy().post("/responses", json={"model": "fake/fake-chat", "input": "a"}).status_code == 200


@pytest.mark.parametrize("model", ["openai/fake-chat", "anthropic/fake-chat", "gemini/fake-chat"])
def test_reasoning_comes_back_as_a_reasoning_item_before_the_message(model: str, open_proxy: OpenProxy) -> None:
    body = {"model": model, "input": "why?", "reasoning": {"effort": "medium"}, "max_output_tokens": 64}
    output = open_proxy(providers=kinds()).post("/v1/responses", json=body).json()["output"]
    assert [item["type"] for item in output] == ["reasoning", "message"]
    assert output[0]["summary"] == [{"type": "summary_text", "text": "Thinking about it."}]
