"""What the fake upstream answers to structured-output, n, logprobs and several-tool requests, in memory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from keyproxy.testing import AppClient, FakeUpstream, Response

BEARER = {"authorization": "Bearer sk-fake-0001-abcdefghijkl"}
ANTHROPIC = {"x-api-key": "sk-ant-fake-0001-abcdefgh", "anthropic-version": "2023-06-01"}
GOOGLE = {"x-goog-api-key": "AIza-fake-0001-abcdefghijkl"}
PERSON: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "pet": {"anyOf": [{"$ref": "#/$defs/Pet"}, {"type": "null"}]},
    },
    "required": ["name", "age", "tags", "pet"],
    "additionalProperties": False,
    "$defs": {
        "Pet": {
            "type": "object",
            "properties": {"kind": {"enum": ["cat", "dog"]}},
            "required": ["kind"],
            "additionalProperties": False,
        }
    },
}
AN_INSTANCE = {"name": "fake", "age": 0, "tags": ["fake"], "pet": {"kind": "cat"}}
LOOKUP = {
    "name": "lookup",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
CLOCK = {"name": "clock", "parameters": {"type": "object", "properties": {}}}


@pytest.fixture
def fake() -> Iterator[tuple[FakeUpstream, AppClient]]:
    upstream = FakeUpstream()
    with AppClient(upstream) as client:
        yield upstream, client


def chat(client: AppClient, **fields: Any) -> Response:
    body = {"model": "fake-chat", "messages": [{"role": "user", "content": "use lookup and clock"}], **fields}
    return client.post("/v1/chat/completions", json=body, headers=BEARER)


def message(client: AppClient, **fields: Any) -> dict[str, Any]:
    body = {"model": "fake-chat", "max_tokens": 64, "messages": [{"role": "user", "content": "use lookup and clock"}]}
    response = client.post("/v1/messages", json={**body, **fields}, headers=ANTHROPIC)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def generate(client: AppClient, **fields: Any) -> dict[str, Any]:
    body = {"contents": [{"role": "user", "parts": [{"text": "use lookup and clock"}]}], **fields}
    response = client.post("/v1beta/models/fake-chat:generateContent", json=body, headers=GOOGLE)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def events(response: Response) -> list[Any]:
    datas = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    return [data if data == "[DONE]" else msgspec.json.decode(data) for data in datas]


def test_openai_json_schema_is_answered_with_an_instance_of_the_schema(fake: tuple[FakeUpstream, AppClient]) -> None:
    response_format = {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}}
    content = chat(fake[1], response_format=response_format).json()["choices"][0]["message"]["content"]
    assert msgspec.json.decode(content) == AN_INSTANCE


def test_openai_json_object_is_answered_with_an_object(fake: tuple[FakeUpstream, AppClient]) -> None:
    content = chat(fake[1], response_format={"type": "json_object"}).json()["choices"][0]["message"]["content"]
    assert msgspec.json.decode(content) == {"echo": "use lookup and clock"}


def test_openai_n_gives_that_many_choices(fake: tuple[FakeUpstream, AppClient]) -> None:
    choices = chat(fake[1], n=3).json()["choices"]
    assert [choice["index"] for choice in choices] == [0, 1, 2]


def test_openai_n_streams_every_choice(fake: tuple[FakeUpstream, AppClient]) -> None:
    chunks = [c for c in events(chat(fake[1], n=2, stream=True)) if c != "[DONE]"]
    assert {choice["index"] for chunk in chunks for choice in chunk["choices"]} == {0, 1}


def test_openai_logprobs_cover_each_token_with_the_alternatives_asked_for(fake: tuple[FakeUpstream, AppClient]) -> None:
    logprobs = chat(fake[1], logprobs=True, top_logprobs=2).json()["choices"][0]["logprobs"]["content"]
    assert "".join(entry["token"] for entry in logprobs) == "Echo: use lookup and clock"
    assert [len(entry["top_logprobs"]) for entry in logprobs] == [2] * len(logprobs)


def test_openai_without_logprobs_has_null_logprobs(fake: tuple[FakeUpstream, AppClient]) -> None:
    assert chat(fake[1]).json()["choices"][0]["logprobs"] is None


def test_openai_calls_every_tool_the_prompt_names(fake: tuple[FakeUpstream, AppClient]) -> None:
    tools = [{"type": "function", "function": LOOKUP}, {"type": "function", "function": CLOCK}]
    calls = chat(fake[1], tools=tools).json()["choices"][0]["message"]["tool_calls"]
    assert [call["function"]["name"] for call in calls] == ["lookup", "clock"]
    assert len({call["id"] for call in calls}) == 2


def test_openai_streams_several_tool_calls_by_index(fake: tuple[FakeUpstream, AppClient]) -> None:
    tools = [{"type": "function", "function": LOOKUP}, {"type": "function", "function": CLOCK}]
    chunks = [c for c in events(chat(fake[1], tools=tools, stream=True)) if c != "[DONE]"]
    names = [call["function"]["name"] for c in chunks for call in c["choices"][0]["delta"].get("tool_calls") or []
             if call["function"].get("name")]  # fmt: skip
    assert names == ["lookup", "clock"]


def test_openai_calls_one_tool_when_parallel_calls_are_off(fake: tuple[FakeUpstream, AppClient]) -> None:
    tools = [{"type": "function", "function": LOOKUP}, {"type": "function", "function": CLOCK}]
    calls = chat(fake[1], tools=tools, parallel_tool_calls=False).json()["choices"][0]["message"]["tool_calls"]
    assert len(calls) == 1


def test_anthropic_output_format_is_answered_with_an_instance(fake: tuple[FakeUpstream, AppClient]) -> None:
    reply = message(fake[1], output_config={"format": {"type": "json_schema", "schema": PERSON}})
    assert msgspec.json.decode(reply["content"][0]["text"]) == AN_INSTANCE


def test_anthropic_refuses_an_output_schema_with_an_open_object(fake: tuple[FakeUpstream, AppClient]) -> None:
    open_schema = {"type": "object", "properties": {}}
    body = {"model": "fake-chat", "max_tokens": 8, "messages": [{"role": "user", "content": "x"}],
            "output_config": {"format": {"type": "json_schema", "schema": open_schema}}}  # fmt: skip
    response = fake[1].post("/v1/messages", json=body, headers=ANTHROPIC)
    assert response.status_code == 400
    assert "additionalProperties" in response.json()["error"]["message"]


def test_anthropic_uses_every_tool_the_prompt_names(fake: tuple[FakeUpstream, AppClient]) -> None:
    tools = [{"name": t["name"], "input_schema": t["parameters"]} for t in (LOOKUP, CLOCK)]
    reply = message(fake[1], tools=tools)
    assert [block["name"] for block in reply["content"]] == ["lookup", "clock"]
    assert reply["stop_reason"] == "tool_use"


def test_anthropic_uses_one_tool_when_parallel_use_is_disabled(fake: tuple[FakeUpstream, AppClient]) -> None:
    tools = [{"name": t["name"], "input_schema": t["parameters"]} for t in (LOOKUP, CLOCK)]
    reply = message(fake[1], tools=tools, tool_choice={"type": "auto", "disable_parallel_tool_use": True})
    assert len(reply["content"]) == 1


def test_gemini_response_schema_is_answered_with_an_instance(fake: tuple[FakeUpstream, AppClient]) -> None:
    schema = {"type": "OBJECT", "properties": {"name": {"type": "STRING"}, "n": {"type": "INTEGER"}}}
    config = {"responseMimeType": "application/json", "responseSchema": schema}
    text = generate(fake[1], generationConfig=config)["candidates"][0]["content"]["parts"][0]["text"]
    assert msgspec.json.decode(text) == {"name": "fake", "n": 0}


def test_gemini_json_schema_is_answered_with_an_instance(fake: tuple[FakeUpstream, AppClient]) -> None:
    config = {"responseMimeType": "application/json", "responseJsonSchema": PERSON}
    text = generate(fake[1], generationConfig=config)["candidates"][0]["content"]["parts"][0]["text"]
    assert msgspec.json.decode(text) == AN_INSTANCE


def test_gemini_candidate_count_gives_that_many_candidates(fake: tuple[FakeUpstream, AppClient]) -> None:
    candidates = generate(fake[1], generationConfig={"candidateCount": 2})["candidates"]
    assert [candidate["index"] for candidate in candidates] == [0, 1]


def test_gemini_logprobs_cover_each_token(fake: tuple[FakeUpstream, AppClient]) -> None:
    config = {"responseLogprobs": True, "logprobs": 3}
    result = generate(fake[1], generationConfig=config)["candidates"][0]["logprobsResult"]
    assert "".join(token["token"] for token in result["chosenCandidates"]) == "Echo: use lookup and clock"
    assert {len(top["candidates"]) for top in result["topCandidates"]} == {3}


def test_gemini_calls_every_function_the_prompt_names(fake: tuple[FakeUpstream, AppClient]) -> None:
    tools = [{"functionDeclarations": [LOOKUP, CLOCK]}]
    parts = generate(fake[1], tools=tools)["candidates"][0]["content"]["parts"]
    assert [part["functionCall"]["name"] for part in parts] == ["lookup", "clock"]


def test_the_journal_records_body_and_query_as_received(fake: tuple[FakeUpstream, AppClient]) -> None:
    upstream, client = fake
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    client.post("/v1beta/models/fake-chat:streamGenerateContent?alt=sse", json=body, headers=GOOGLE)
    received = upstream.requests[-1]
    assert (received.body, received.query) == (body, {"alt": "sse"})
