"""The fake upstream's Responses API: answers, the event sequence, responses kept per key, faults."""

from __future__ import annotations

import json
from typing import Any

import pytest

from keyproxy.testing import AppClient, FakeUpstream, Fault, FaultKind

KEY, OTHER = "sk-fake-0001-abcdefghijkl", "sk-fake-0002-abcdefghijkl"


def call(fake: FakeUpstream, method: str, path: str, body: Any = None, key: str = KEY) -> Any:
    with AppClient(fake) as client:
        return client.request(method, path, headers={"authorization": f"Bearer {key}"}, json=body)


def create(fake: FakeUpstream, key: str = KEY, **body: Any) -> Any:
    return call(fake, "POST", "/v1/responses", {"model": "fake-chat", "input": "hello", **body}, key)


def test_a_response_echoes_the_input_with_usage() -> None:
    answer = create(FakeUpstream()).json()
    assert answer["output"][0]["content"][0]["text"] == "Echo: hello"
    assert (answer["object"], answer["status"]) == ("response", "completed")
    assert (answer["usage"]["input_tokens"], answer["usage"]["output_tokens"]) == (1, 2)


def test_tools_make_a_function_call_and_its_output_is_echoed_back() -> None:
    fake = FakeUpstream()
    tools = [{"type": "function", "name": "f", "parameters": {"type": "object", "properties": {
        "city": {"type": "string"}}, "required": ["city"]}}]  # fmt: skip
    first = create(fake, tools=tools).json()
    [item] = first["output"]
    assert (item["type"], item["name"], item["arguments"]) == ("function_call", "f", '{"city":"fake"}')
    output = {"type": "function_call_output", "call_id": item["call_id"], "output": "sunny"}
    second = create(fake, tools=tools, input=[output], previous_response_id=first["id"]).json()
    assert second["output"][0]["content"][0]["text"] == "Tool said: sunny"


def test_a_json_schema_format_is_answered_with_matching_json() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}
    text = {"format": {"type": "json_schema", "name": "n", "schema": schema}}
    answer = create(FakeUpstream(), text=text).json()
    assert json.loads(answer["output"][0]["content"][0]["text"]) == {"a": "fake", "b": 0}


def test_a_stream_is_numbered_from_created_to_completed() -> None:
    body = create(FakeUpstream(), stream=True, reasoning={"effort": "low"}).text
    events = [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]
    kinds = [event["type"] for event in events]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert "response.reasoning_summary_text.delta" in kinds and "response.output_text.delta" in kinds
    assert kinds[-1] == "response.completed"
    assert [event["sequence_number"] for event in events] == list(range(len(events)))


def test_a_kept_response_is_read_and_deleted_only_with_its_own_key() -> None:
    fake = FakeUpstream()
    made = create(fake).json()
    assert call(fake, "GET", f"/v1/responses/{made['id']}", key=OTHER).status_code == 404
    assert call(fake, "GET", f"/v1/responses/{made['id']}").json() == made
    assert call(fake, "DELETE", f"/v1/responses/{made['id']}", key=OTHER).status_code == 404
    assert call(fake, "DELETE", f"/v1/responses/{made['id']}").json()["deleted"] is True
    assert call(fake, "GET", f"/v1/responses/{made['id']}").status_code == 404


def test_another_keys_previous_response_is_not_found() -> None:
    fake = FakeUpstream()
    made = create(fake).json()
    answer = create(fake, OTHER, previous_response_id=made["id"])
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "previous_response_not_found"


def test_store_false_keeps_nothing_and_reset_forgets_everything() -> None:
    fake = FakeUpstream()
    unstored, stored = create(fake, store=False).json(), create(fake).json()
    assert call(fake, "GET", f"/v1/responses/{unstored['id']}").status_code == 404
    fake.reset()
    assert call(fake, "GET", f"/v1/responses/{stored['id']}").status_code == 404


@pytest.mark.parametrize(("kind", "status"), [(FaultKind.RATE_LIMIT, 429), (FaultKind.UNAUTHORIZED, 401)])
def test_faults_apply_to_the_responses_api_too(kind: FaultKind, status: int) -> None:
    fake = FakeUpstream()
    fake.set_fault(KEY, Fault(kind))
    assert create(fake).status_code == status


def test_a_stream_cut_after_its_first_chunk_stops_after_the_first_delta() -> None:
    fake = FakeUpstream()
    fake.set_fault(KEY, Fault(FaultKind.CUT_AFTER_FIRST_CHUNK))
    answer = create(fake, stream=True, input="a b c")
    assert not answer.complete
    assert answer.text.count("response.output_text.delta") == 2  # its event line and its type
    assert "response.completed" not in answer.text


def test_the_journal_records_what_the_responses_api_received() -> None:
    fake = FakeUpstream()
    create(fake, instructions="Be brief.")
    [received] = fake.requests
    assert (received.method, received.path, received.body["instructions"]) == ("POST", "/v1/responses", "Be brief.")


def test_other_methods_and_paths_under_responses_are_unknown() -> None:
    fake = FakeUpstream()
    assert call(fake, "POST", "/v1/responses/resp_1/cancel").status_code == 404
