"""Whole chat completions as Responses API responses, and the response object they complete."""

from __future__ import annotations

from typing import Any

import pytest

from keyproxy.errors import InvalidUpstreamResponse
from keyproxy.translate.responses_mapping import response_object, responses_usage
from keyproxy.translate.responses_response import chat_to_response

BASE = response_object({"model": "p/m", "input": "hi"}, response_id="resp_abc", model="p/m", created_at=1700000000)


def completion(message: dict[str, Any], finish: str = "stop", usage: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"id": "c1", "choices": [{"index": 0, "message": message, "finish_reason": finish}]}
    if usage is not None:
        answer["usage"] = usage
    return answer


def test_text_becomes_one_completed_message() -> None:
    response = chat_to_response(completion({"role": "assistant", "content": "Hello"}), BASE)
    assert response["status"] == "completed"
    assert response["output"] == [{"id": "msg_abc_0", "type": "message", "status": "completed", "role": "assistant",
                                   "content": [{"type": "output_text", "text": "Hello", "annotations": [],
                                                "logprobs": []}]}]  # fmt: skip


def test_tool_calls_become_function_calls_after_the_text() -> None:
    calls = [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}},
             {"id": "call_2", "type": "function", "function": {"name": "g", "arguments": "{}"}}]  # fmt: skip
    message = {"role": "assistant", "content": "Let me see.", "tool_calls": calls}
    output = chat_to_response(completion(message, "tool_calls"), BASE)["output"]
    assert [item["type"] for item in output] == ["message", "function_call", "function_call"]
    assert output[1] == {"id": "fc_abc_0", "type": "function_call", "status": "completed", "arguments": '{"a":1}',
                         "call_id": "call_1", "name": "f"}  # fmt: skip


def test_only_tool_calls_make_no_message() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    assert [item["type"] for item in chat_to_response(completion(message), BASE)["output"]] == ["function_call"]


def test_reasoning_content_becomes_a_reasoning_summary_first() -> None:
    message = {"role": "assistant", "content": "42", "reasoning_content": "Thinking."}
    output = chat_to_response(completion(message), BASE)["output"]
    assert output[0] == {"id": "rs_abc_0", "type": "reasoning", "summary": [{"type": "summary_text",
                                                                            "text": "Thinking."}]}  # fmt: skip


def test_a_refusal_becomes_a_refusal_part() -> None:
    output = chat_to_response(completion({"role": "assistant", "content": None, "refusal": "No."}), BASE)["output"]
    assert output[0]["content"] == [{"type": "refusal", "refusal": "No."}]


def test_an_empty_answer_is_an_empty_message() -> None:
    output = chat_to_response(completion({"role": "assistant", "content": ""}), BASE)["output"]
    assert output[0]["content"][0]["text"] == ""


@pytest.mark.parametrize(("finish", "reason"), [("length", "max_output_tokens"), ("content_filter", "content_filter")])
def test_a_cut_answer_is_incomplete_with_its_reason(finish: str, reason: str) -> None:
    response = chat_to_response(completion({"role": "assistant", "content": "Hel"}, finish), BASE)
    assert (response["status"], response["incomplete_details"]) == ("incomplete", {"reason": reason})
    assert response["output"][0]["status"] == "incomplete"


def test_usage_is_named_as_the_responses_api_names_it() -> None:
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
             "prompt_tokens_details": {"cached_tokens": 4},
             "completion_tokens_details": {"reasoning_tokens": 2}}  # fmt: skip
    assert chat_to_response(completion({"content": "x"}, usage=usage), BASE)["usage"] == {
        "input_tokens": 10, "input_tokens_details": {"cached_tokens": 4}, "output_tokens": 5,
        "output_tokens_details": {"reasoning_tokens": 2}, "total_tokens": 15,
    }  # fmt: skip


def test_missing_usage_is_null_and_missing_counts_are_zero() -> None:
    assert chat_to_response(completion({"content": "x"}), BASE)["usage"] is None
    assert responses_usage({"prompt_tokens": None})["total_tokens"] == 0  # type: ignore[index]


def test_an_answer_without_choices_is_invalid() -> None:
    with pytest.raises(InvalidUpstreamResponse):
        chat_to_response({"id": "x"}, BASE)


def test_the_response_echoes_what_the_request_asked_for() -> None:
    request = {"model": "p/m", "instructions": "Be brief.", "max_output_tokens": 9, "temperature": 0.5,
               "tools": [{"type": "function", "name": "f"}], "tool_choice": "required", "store": False,
               "previous_response_id": "resp_0", "metadata": {"k": "v"}, "reasoning": {"effort": "low"},
               "text": {"format": {"type": "json_object"}}, "parallel_tool_calls": False, "user": "u"}  # fmt: skip
    echoed = response_object(request, response_id="resp_1", model="p/m", created_at=5)
    expected = {key: value for key, value in request.items() if key != "model"}
    expected["reasoning"] = {"effort": "low", "summary": None}
    assert {key: echoed[key] for key in expected} == expected
    assert (echoed["object"], echoed["status"], echoed["output"], echoed["usage"]) == ("response", "in_progress",
                                                                                      [], None)  # fmt: skip


def test_the_response_defaults_are_openais() -> None:
    echoed = response_object({"model": "m"}, response_id="resp_1", model="m", created_at=5)
    shown = [echoed[key] for key in ("tool_choice", "tools", "text", "truncation", "store", "parallel_tool_calls")]
    assert shown == ["auto", [], {"format": {"type": "text"}}, "disabled", True, True]
