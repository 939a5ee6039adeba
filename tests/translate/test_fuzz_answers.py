"""Every answer translator, fed arbitrary and almost-valid upstream answers: an answer in the client's format,
or an invalid-upstream-answer error (the key gets a transient verdict and the request fails over), never
another exception."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from fuzz_shapes import CHAT_ANSWERS, GEMINI_ANSWERS, GEMINI_EMBEDDINGS, GEMINI_MODELS, MESSAGES_ANSWERS
from fuzz_support import encodes, objects, outcome
from keyproxy.errors import UpstreamError
from keyproxy.translate.anthropic_inbound_response import chat_response_to_messages
from keyproxy.translate.anthropic_response import messages_response_to_chat
from keyproxy.translate.gemini_response import gemini_embeddings_to_openai, gemini_models, gemini_to_chat
from keyproxy.translate.responses_mapping import response_object
from keyproxy.translate.responses_response import chat_to_response

BASE = response_object({"model": "m", "input": "hi"}, response_id="resp_1", model="m", created_at=1)


def answered(result: Any) -> None:
    if result is not None:
        encodes(result)


@given(objects(MESSAGES_ANSWERS))
def test_an_anthropic_message_becomes_a_chat_completion_or_an_invalid_answer(answer: dict[str, Any]) -> None:
    answered(outcome(lambda: messages_response_to_chat(answer, model="m", created=1), UpstreamError))


@given(objects(CHAT_ANSWERS))
def test_a_chat_completion_becomes_an_anthropic_message_or_an_invalid_answer(answer: dict[str, Any]) -> None:
    answered(outcome(lambda: chat_response_to_messages(answer, model="m"), UpstreamError))


@given(objects(CHAT_ANSWERS))
def test_a_chat_completion_becomes_a_response_or_an_invalid_answer(answer: dict[str, Any]) -> None:
    answered(outcome(lambda: chat_to_response(answer, BASE), UpstreamError))


@given(objects(GEMINI_ANSWERS))
def test_a_gemini_answer_becomes_a_chat_completion_or_an_error(answer: dict[str, Any]) -> None:
    answered(outcome(lambda: gemini_to_chat(answer, model="m", created=1), UpstreamError))


@given(objects(GEMINI_EMBEDDINGS), st.sampled_from([None, "float", "base64"]))
def test_gemini_embeddings_become_openai_embeddings_or_an_invalid_answer(answer: dict[str, Any], form: Any) -> None:
    answered(outcome(lambda: gemini_embeddings_to_openai(answer, model="m", encoding_format=form), UpstreamError))


@given(objects(GEMINI_MODELS))
def test_a_gemini_model_list_gives_names_or_an_invalid_answer(answer: dict[str, Any]) -> None:
    names = outcome(lambda: gemini_models(answer), UpstreamError)
    assert names is None or all(isinstance(name, str) for name in names)
