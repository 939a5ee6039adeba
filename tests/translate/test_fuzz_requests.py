"""Every request translator, fed arbitrary and almost-valid requests: a request the target can take (JSON the
proxy can send), or a 400 naming the problem, never another exception."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from fuzz_shapes import CHAT_REQUESTS, EMBEDDINGS_REQUESTS, MESSAGES_REQUESTS, RESPONSES_REQUESTS, SCHEMA
from fuzz_support import JSON, encodes, objects, outcome, shaped
from keyproxy.errors import InvalidRequest
from keyproxy.translate.anthropic_inbound_request import messages_to_chat
from keyproxy.translate.anthropic_request import chat_to_messages
from keyproxy.translate.gemini_request import chat_to_gemini, embeddings_to_gemini
from keyproxy.translate.gemini_schema import clean_schema
from keyproxy.translate.responses_request import input_items, replayable, responses_to_chat
from keyproxy.translate.rewrite import with_model
from keyproxy.translate.structured import anthropic_format, chat_response_format, closed, strict_ready


def translated(result: Any) -> None:
    if result is not None:
        assert isinstance(result, dict)
        encodes(result)


@given(objects(CHAT_REQUESTS))
def test_chat_to_anthropic_translates_or_refuses(request: dict[str, Any]) -> None:
    translated(outcome(lambda: chat_to_messages(request), InvalidRequest))


@given(objects(CHAT_REQUESTS))
def test_chat_to_gemini_translates_or_refuses(request: dict[str, Any]) -> None:
    translated(outcome(lambda: chat_to_gemini(request), InvalidRequest))


@given(objects(EMBEDDINGS_REQUESTS), st.sampled_from(["e", "models/e"]))
def test_embeddings_to_gemini_translates_or_refuses(request: dict[str, Any], model: str) -> None:
    translated(outcome(lambda: embeddings_to_gemini(request, model=model), InvalidRequest))


@given(objects(MESSAGES_REQUESTS))
def test_messages_to_chat_translates_or_refuses(request: dict[str, Any]) -> None:
    chat = outcome(lambda: messages_to_chat(request), InvalidRequest)
    translated(chat)
    if chat is not None:
        # What Anthropic clients send reaches Gemini through chat: the second hop holds too.
        translated(outcome(lambda: chat_to_gemini(chat), InvalidRequest))


@given(objects(RESPONSES_REQUESTS), st.lists(JSON.filter(lambda item: isinstance(item, dict)), max_size=3))
def test_responses_to_chat_translates_or_refuses(request: dict[str, Any], prior: list[dict[str, Any]]) -> None:
    chat = outcome(lambda: responses_to_chat(request, prior), InvalidRequest)
    translated(chat)
    if chat is not None:
        translated(outcome(lambda: chat_to_messages(chat), InvalidRequest))
    items = outcome(lambda: input_items(request), InvalidRequest)
    if items is not None:
        encodes(replayable(items))


@given(shaped([SCHEMA]))
def test_schemas_clean_for_gemini_or_are_refused(schema: Any) -> None:
    if isinstance(schema, dict):
        translated(outcome(lambda: clean_schema(schema), InvalidRequest))
        translated(closed(schema))
        assert strict_ready(schema) in (True, False)


@given(shaped([{"type": "json_schema", "json_schema": {"name": "w", "schema": SCHEMA}}, {"type": "json_object"}]))
def test_response_format_becomes_an_anthropic_format_or_is_refused(response_format: Any) -> None:
    result = outcome(lambda: anthropic_format(response_format), InvalidRequest)
    if result is not None:
        encodes(result)


@given(shaped([{"type": "json_schema", "schema": SCHEMA}]))
def test_output_format_becomes_a_response_format_or_is_refused(output_format: Any) -> None:
    translated(outcome(lambda: chat_response_format(output_format), InvalidRequest))


@given(objects(CHAT_REQUESTS), st.text(min_size=1, max_size=10), st.text(min_size=1, max_size=10))
def test_the_model_splice_keeps_everything_but_the_model(request: dict[str, Any], old: str, new: str) -> None:
    raw = encodes({**request, "model": old})
    import msgspec

    assert msgspec.json.decode(with_model(raw, old, new)) == {**request, "model": new}
