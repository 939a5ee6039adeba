from __future__ import annotations

from collections.abc import Callable

import pytest

from keyproxy.config.prices import Price
from keyproxy.events import Tokens
from keyproxy.usage import SHIPPED, PriceTable, prices

SHIPPED_TABLE = PriceTable()


def test_a_listed_model_has_its_shipped_price() -> None:
    assert SHIPPED_TABLE.price("openai", "gpt-4o") == Price(2.50, 10.00, 1.25)


@pytest.mark.parametrize(
    ("model", "listed"),
    [
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
        ("o3-2025-04-16", "o3"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("gemini-2.0-flash-001", "gemini-2.0-flash"),
        ("gemini-2.5-flash-preview-09-2025", "gemini-2.5-flash"),
    ],
)
def test_a_dated_variant_has_the_price_of_its_model(model: str, listed: str) -> None:
    assert SHIPPED_TABLE.price("any", model) == SHIPPED[listed]


def test_the_longest_listed_name_wins() -> None:
    assert SHIPPED_TABLE.price("openai", "gpt-4o-mini") == SHIPPED["gpt-4o-mini"]
    assert SHIPPED_TABLE.price("google", "gemini-2.5-flash-lite") == SHIPPED["gemini-2.5-flash-lite"]


@pytest.mark.parametrize("model", ["gpt-5-nano", "o3-pro", "claude-opus-4-5", "gemini-2.0-flash-lite", "gpt-5.2"])
def test_a_sibling_model_does_not_get_the_price_of_its_base(model: str) -> None:
    assert SHIPPED_TABLE.price("any", model) is None


def test_a_vendor_prefix_inside_the_model_name_is_ignored() -> None:
    assert SHIPPED_TABLE.price("openrouter", "openai/gpt-4o") == SHIPPED["gpt-4o"]


def test_shipped_names_match_whatever_their_case() -> None:
    assert SHIPPED_TABLE.price("openai", "GPT-4o") == SHIPPED["gpt-4o"]


def test_an_unknown_model_has_no_price_and_no_cost() -> None:
    assert SHIPPED_TABLE.price("acme", "rocket-1") is None
    assert SHIPPED_TABLE.cost("acme", "rocket-1", Tokens(prompt=10)) is None


def test_a_provider_and_model_override_wins_over_a_model_override() -> None:
    table = PriceTable({"gpt-4o": Price(1, 1), "openai/gpt-4o": Price(2, 2)})
    assert table.price("openai", "gpt-4o") == Price(2, 2)


def test_a_model_override_wins_over_a_glob() -> None:
    table = PriceTable({"openai/*": Price(9, 9), "gpt-4o": Price(1, 1)})
    assert table.price("openai", "gpt-4o") == Price(1, 1)


def test_a_glob_wins_over_the_shipped_price() -> None:
    table = PriceTable({"groq/*": Price(0, 0)})
    assert table.price("groq", "llama-3.3-70b-versatile") == Price(0, 0)


def test_the_first_matching_glob_in_insertion_order_wins() -> None:
    table = PriceTable({"openrouter/*-free": Price(0, 0), "openrouter/*": Price(5, 5)})
    assert table.price("openrouter", "llama-free") == Price(0, 0)
    assert table.price("openrouter", "llama") == Price(5, 5)


def test_a_glob_may_name_only_the_model() -> None:
    assert PriceTable({"*-free": Price(0, 0)}).price("openrouter", "qwen-free") == Price(0, 0)


def test_an_override_for_another_provider_does_not_apply() -> None:
    table = PriceTable({"groq/gpt-4o": Price(0, 0)})
    assert table.price("openai", "gpt-4o") == SHIPPED["gpt-4o"]


def test_unmatched_overrides_fall_back_to_the_shipped_price() -> None:
    table = PriceTable({"mine/*": Price(0, 0), "other-model": Price(1, 1)})
    assert table.price("anthropic", "claude-haiku-4-5-20251001") == SHIPPED["claude-haiku-4-5"]


def test_cost_bills_cached_prompt_tokens_at_the_cached_price() -> None:
    tokens = Tokens(prompt=1_000_000, completion=100_000, cached=400_000)
    # 600k fresh at 2.50 + 400k cached at 1.25 + 100k out at 10.00
    assert SHIPPED_TABLE.cost("openai", "gpt-4o", tokens) == pytest.approx(1.5 + 0.5 + 1.0)


def test_cost_bills_cached_tokens_as_input_when_the_model_has_no_cached_price() -> None:
    tokens = Tokens(prompt=1_000_000, cached=500_000)
    assert SHIPPED_TABLE.cost("groq", "llama-3.3-70b-versatile", tokens) == pytest.approx(0.59)


def test_cost_does_not_add_reasoning_tokens_again() -> None:
    tokens = Tokens(completion=1_000_000, reasoning=800_000)
    assert SHIPPED_TABLE.cost("openai", "o4-mini", tokens) == pytest.approx(4.40)


def test_a_table_is_a_cost_function() -> None:
    cost: Callable[[str, str, Tokens], float | None] = PriceTable({"x/y": Price(1, 2)})
    assert cost("x", "y", Tokens(prompt=1_000_000, completion=1_000_000)) == pytest.approx(3.0)


def test_answers_are_remembered_within_a_bound_and_stay_right_past_it() -> None:
    table = PriceTable({"p/mine": Price(input=1.0, output=2.0)})
    invented = [f"made-up-{n}" for n in range(prices._REMEMBERED + 10)]

    assert [table.price("p", name) for name in invented] == [None] * len(invented)
    assert table.price("p", "mine") == Price(input=1.0, output=2.0)
    assert len(table._found) <= prices._REMEMBERED
