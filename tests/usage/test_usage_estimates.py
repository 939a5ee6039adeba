from __future__ import annotations

from typing import Any

import pytest

from keyproxy.config.prices import Price
from keyproxy.errors import InvalidRequest
from keyproxy.usage import SHIPPED, PriceTable, cost_estimate, token_count


def test_token_count_of_text_is_a_quarter_of_its_characters_rounded_up() -> None:
    assert token_count({"model": "gpt-4o", "text": "abcdefghi"}) == {
        "model": "gpt-4o",
        "prompt_tokens": 3,
        "method": "estimate",
    }


def test_token_count_counts_characters_not_bytes() -> None:
    assert token_count({"model": "m", "text": "é" * 8})["prompt_tokens"] == 2


def test_token_count_is_at_least_one() -> None:
    assert token_count({"model": "m", "text": ""})["prompt_tokens"] == 1


def test_token_count_reads_every_text_in_openai_messages() -> None:
    image = {"type": "image_url", "image_url": {"url": "x" * 99}}
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "c" * 10}}
    messages = [
        {"role": "system", "content": "a" * 10},
        {"role": "user", "content": [{"type": "text", "text": "b" * 10}, image]},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "d" * 10},
    ]
    assert token_count({"model": "m", "messages": messages})["prompt_tokens"] == 10


def test_token_count_reads_anthropic_system_tool_use_and_tool_results() -> None:
    tool_use = {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}
    tool_result = {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "r" * 9}]}
    body = {
        "model": "claude-sonnet-4-5",
        "system": [{"type": "text", "text": "s" * 8}],
        "messages": [{"role": "assistant", "content": [tool_use]}, {"role": "user", "content": [tool_result]}],
    }
    # 8 system + 7 for '{"a":1}' + 9 of result
    assert token_count(body)["prompt_tokens"] == 6


@pytest.mark.parametrize(
    "body",
    [
        {"text": "hi"},
        {"model": 5, "text": "hi"},
        {"model": "", "text": "hi"},
        {"model": "m"},
        {"model": "m", "text": 5},
        {"model": "m", "messages": "hi"},
        {"model": "m", "messages": ["hi"]},
    ],
)
def test_token_count_rejects_invalid_input(body: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest):
        token_count(body)


def test_cost_estimate_of_a_known_model() -> None:
    body = {
        "model": "openai/gpt-4o",
        "prompt_tokens": 1_000_000,
        "completion_tokens": 100_000,
        "cached_tokens": 400_000,
    }
    assert cost_estimate(body, PriceTable()) == {
        "model": "openai/gpt-4o",
        "currency": "USD",
        "cost": pytest.approx(3.0),
        "price_per_million": {"input": 2.5, "output": 10.0, "cached": 1.25},
        "known": True,
    }


def test_cost_estimate_of_an_unknown_model_is_unknown() -> None:
    body = {"model": "acme/rocket-1", "prompt_tokens": 10, "completion_tokens": 10}
    assert cost_estimate(body, PriceTable()) == {
        "model": "acme/rocket-1",
        "currency": "USD",
        "cost": None,
        "price_per_million": None,
        "known": False,
    }


def test_cost_estimate_shows_the_input_rate_as_cached_rate_when_there_is_no_cached_price() -> None:
    body = {"model": "groq/llama-3.1-8b-instant", "prompt_tokens": 1, "completion_tokens": 1}
    assert cost_estimate(body, PriceTable())["price_per_million"] == {"input": 0.05, "output": 0.08, "cached": 0.05}


def test_cost_estimate_uses_the_tables_overrides() -> None:
    table = PriceTable({"mine/model": Price(1.0, 2.0)})
    body = {"model": "mine/model", "prompt_tokens": 1_000_000, "completion_tokens": 1_000_000}
    assert cost_estimate(body, table)["cost"] == pytest.approx(3.0)


def test_cost_estimate_accepts_a_model_without_provider() -> None:
    body = {"model": "gpt-5-mini", "prompt_tokens": 0, "completion_tokens": 1_000_000}
    assert cost_estimate(body, PriceTable())["cost"] == pytest.approx(SHIPPED["gpt-5-mini"].output)


@pytest.mark.parametrize(
    "body",
    [
        {"prompt_tokens": 1, "completion_tokens": 1},
        {"model": "openai/gpt-4o", "completion_tokens": 1},
        {"model": "openai/gpt-4o", "prompt_tokens": 1},
        {"model": "openai/gpt-4o", "prompt_tokens": -1, "completion_tokens": 1},
        {"model": "openai/gpt-4o", "prompt_tokens": 1.5, "completion_tokens": 1},
        {"model": "openai/gpt-4o", "prompt_tokens": True, "completion_tokens": 1},
        {"model": "openai/gpt-4o", "prompt_tokens": 1, "completion_tokens": 1, "cached_tokens": 2},
        {"model": "openai/gpt-4o", "prompt_tokens": 1, "completion_tokens": 1, "cached_tokens": "0"},
    ],
)
def test_cost_estimate_rejects_invalid_input(body: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest):
        cost_estimate(body, PriceTable())
