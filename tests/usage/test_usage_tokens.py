from __future__ import annotations

import msgspec
import pytest

from keyproxy.events import Tokens
from keyproxy.usage import estimate, tokens_from_body, tokens_from_usage

OPENAI_USAGE = {
    "prompt_tokens": 1234,
    "completion_tokens": 56,
    "total_tokens": 1290,
    "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 12, "audio_tokens": 0},
}
ANTHROPIC_USAGE = {
    "input_tokens": 25,
    "cache_creation_input_tokens": 100,
    "cache_read_input_tokens": 2000,
    "output_tokens": 15,
}


def test_openai_usage_reads_prompt_completion_cached_and_reasoning() -> None:
    assert tokens_from_usage(OPENAI_USAGE) == Tokens(prompt=1234, completion=56, cached=1024, reasoning=12)


def test_anthropic_prompt_is_input_plus_cache_reads_plus_cache_writes() -> None:
    assert tokens_from_usage(ANTHROPIC_USAGE) == Tokens(prompt=2125, completion=15, cached=2000)


def test_anthropic_null_cache_counts_are_zero() -> None:
    usage = {
        "input_tokens": 10,
        "cache_creation_input_tokens": None,
        "cache_read_input_tokens": None,
        "output_tokens": 3,
    }
    assert tokens_from_usage(usage) == Tokens(prompt=10, completion=3)


def test_embeddings_usage_has_only_a_prompt() -> None:
    assert tokens_from_usage({"prompt_tokens": 8, "total_tokens": 8}) == Tokens(prompt=8)


def test_deepseek_cache_hits_count_as_cached_when_cached_tokens_is_absent() -> None:
    usage = {
        "prompt_tokens": 100,
        "completion_tokens": 5,
        "prompt_cache_hit_tokens": 64,
        "prompt_cache_miss_tokens": 36,
    }
    assert tokens_from_usage(usage) == Tokens(prompt=100, completion=5, cached=64)


def test_responses_api_usage_reads_its_nested_details() -> None:
    usage = {
        "input_tokens": 300,
        "input_tokens_details": {"cached_tokens": 200},
        "output_tokens": 40,
        "output_tokens_details": {"reasoning_tokens": 30},
    }
    assert tokens_from_usage(usage) == Tokens(prompt=300, completion=40, cached=200, reasoning=30)


def test_a_count_that_is_not_a_non_negative_integer_is_ignored() -> None:
    usage = {"prompt_tokens": "12", "completion_tokens": 3, "prompt_tokens_details": {"cached_tokens": -1}}
    assert tokens_from_usage(usage) == Tokens(completion=3)


@pytest.mark.parametrize("usage", [{}, {"total_tokens": 9}, {"promptTokenCount": 4}])
def test_usage_of_neither_shape_is_none(usage: dict[str, object]) -> None:
    assert tokens_from_usage(usage) is None


def test_body_of_a_chat_completion() -> None:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": OPENAI_USAGE,
    }
    assert tokens_from_body(msgspec.json.encode(body)) == Tokens(prompt=1234, completion=56, cached=1024, reasoning=12)


def test_body_of_an_embeddings_list() -> None:
    body = {"object": "list", "data": [{"embedding": [0.1] * 64, "index": 0}], "usage": {"prompt_tokens": 8}}
    assert tokens_from_body(msgspec.json.encode(body)) == Tokens(prompt=8)


def test_body_of_an_anthropic_message() -> None:
    body = {"type": "message", "content": [{"type": "text", "text": "hi"}], "usage": ANTHROPIC_USAGE}
    assert tokens_from_body(msgspec.json.encode(body)) == Tokens(prompt=2125, completion=15, cached=2000)


@pytest.mark.parametrize(
    "body",
    [
        b'{"choices": []}',
        b'{"usage": null}',
        b'{"usage": 5}',
        b"[1, 2]",
        b"not json",
        b"",
    ],
)
def test_body_without_a_usage_object_is_none(body: bytes) -> None:
    assert tokens_from_body(body) is None


def test_estimate_is_a_quarter_of_the_bytes_rounded_up_and_marked_estimated() -> None:
    assert estimate(400, 10) == Tokens(prompt=100, completion=3, estimated=True)


def test_estimate_of_nothing_is_zero() -> None:
    assert estimate(0, 0) == Tokens(estimated=True)
