from __future__ import annotations

import base64
import struct
from typing import Any

import pytest

from keyproxy.errors import InvalidRequest, InvalidUpstreamResponse
from keyproxy.translate.gemini_request import embeddings_to_gemini
from keyproxy.translate.gemini_response import gemini_embeddings_to_openai

# The shape batchEmbedContents answers with.
ANSWER: dict[str, Any] = {"embeddings": [{"values": [0.25, -1.5, 3.0]}, {"values": [1.0, 0.0, -0.5]}]}


def to_openai(resp: dict[str, Any], encoding_format: str | None = None) -> dict[str, Any]:
    return gemini_embeddings_to_openai(resp, model="gemini-embedding-001", encoding_format=encoding_format)


def test_a_single_string_becomes_one_request() -> None:
    body = embeddings_to_gemini({"input": "hello", "model": "gemini-embedding-001"}, model="gemini-embedding-001")
    assert body == {"requests": [{"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "hello"}]}}]}


def test_each_string_of_a_list_becomes_its_own_request_in_order() -> None:
    body = embeddings_to_gemini({"input": ["a", "b"]}, model="gemini-embedding-001")
    assert [request["content"]["parts"][0]["text"] for request in body["requests"]] == ["a", "b"]


def test_dimensions_become_output_dimensionality_on_every_request() -> None:
    body = embeddings_to_gemini({"input": ["a", "b"], "dimensions": 768}, model="gemini-embedding-001")
    assert [request["outputDimensionality"] for request in body["requests"]] == [768, 768]


def test_a_model_already_named_with_its_prefix_keeps_one_prefix() -> None:
    body = embeddings_to_gemini({"input": "a"}, model="models/text-embedding-004")
    assert body["requests"][0]["model"] == "models/text-embedding-004"


@pytest.mark.parametrize("tokens", [[1, 2, 3], [[1, 2], [3]], [], None])
def test_token_arrays_and_empty_input_are_refused(tokens: Any) -> None:
    with pytest.raises(InvalidRequest):
        embeddings_to_gemini({"input": tokens}, model="gemini-embedding-001")


@pytest.mark.parametrize("tokens", [[1, 2, 3], [[1, 2], [3]]])
def test_token_arrays_are_refused_naming_the_fix(tokens: Any) -> None:
    with pytest.raises(InvalidRequest, match=r"send the text itself.*check_embedding_ctx_length=False"):
        embeddings_to_gemini({"input": tokens}, model="gemini-embedding-001")


def test_the_answer_is_an_openai_embedding_list_with_zero_usage() -> None:
    assert to_openai(ANSWER) == {
        "object": "list",
        "data": [
            {"object": "embedding", "index": 0, "embedding": [0.25, -1.5, 3.0]},
            {"object": "embedding", "index": 1, "embedding": [1.0, 0.0, -0.5]},
        ],
        "model": "gemini-embedding-001",
        "usage": {"prompt_tokens": 0, "total_tokens": 0},
    }


def test_base64_encoding_is_little_endian_float32() -> None:
    encoded = to_openai(ANSWER, "base64")["data"][0]["embedding"]
    assert struct.unpack("<3f", base64.b64decode(encoded)) == (0.25, -1.5, 3.0)


def test_float_encoding_keeps_the_values() -> None:
    assert to_openai(ANSWER, "float")["data"][1]["embedding"] == [1.0, 0.0, -0.5]


@pytest.mark.parametrize("resp", [{}, {"embeddings": [{"nothing": 1}]}])
def test_an_answer_without_vectors_is_invalid(resp: dict[str, Any]) -> None:
    with pytest.raises(InvalidUpstreamResponse):
        to_openai(resp)


def test_a_field_gemini_embeddings_cannot_honour_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="'input_type' cannot be sent to Gemini"):
        embeddings_to_gemini({"input": "a", "input_type": "query"}, model="gemini-embedding-001")
