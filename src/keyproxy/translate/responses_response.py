"""A whole OpenAI chat completion as a Responses API response."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keyproxy.errors import InvalidUpstreamResponse
from keyproxy.translate.malformed import malformed_answer
from keyproxy.translate.responses_mapping import (
    finished,
    function_call_item,
    item_id,
    item_status,
    message_item,
    reasoning_item,
    refusal_part,
    responses_usage,
    text_part,
)


@malformed_answer("chat completion")
def chat_to_response(chat: Mapping[str, Any], response: Mapping[str, Any]) -> dict[str, Any]:
    """`response` is the response object before output (`response_object`); its id names the items.

    Output, in order: a reasoning item (from `reasoning_content` or `reasoning`), a message (text, or a
    refusal), one function_call per tool call. An answer with none of them is an empty message.
    """
    choices = chat.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise InvalidUpstreamResponse("upstream answered without choices")
    choice = choices[0]
    found = choice.get("message")
    message: dict[str, Any] = found if isinstance(found, dict) else {}
    finish = choice.get("finish_reason")
    status = item_status(finish)
    rid = str(response["id"])
    output: list[dict[str, Any]] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        output.append(reasoning_item(item_id(rid, "rs", 0), reasoning))
    parts = []
    text = _text(message.get("content"))
    if text:
        parts.append(text_part(text))
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal:
        parts.append(refusal_part(refusal))
    calls = [call for call in message.get("tool_calls") or [] if isinstance(call, dict)]
    if parts or not calls:
        output.append(message_item(item_id(rid, "msg", 0), parts or [text_part("")], status))
    for number, call in enumerate(calls):
        function = call["function"] if isinstance(call.get("function"), dict) else {}
        given = call.get("id")
        call_id = given if isinstance(given, str) and given else item_id(rid, "call", number)
        arguments = function.get("arguments")
        output.append(
            function_call_item(
                item_id(rid, "fc", number), call_id, str(function.get("name") or ""),
                arguments if isinstance(arguments, str) else "{}", status,
            )
        )  # fmt: skip
    return finished(response, finish, output, responses_usage(chat.get("usage")))


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        # A few servers answer with content parts.
        return "".join(str(part.get("text") or "") for part in content if isinstance(part, dict))
    return ""
