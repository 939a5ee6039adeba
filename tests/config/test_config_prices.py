from __future__ import annotations

import pytest

from keyproxy.config.prices import Price, parse_prices


def test_parse_prices_reads_input_output_and_optional_cached() -> None:
    parsed = parse_prices(
        {"openai/gpt-4o": {"input": 2.5, "output": 10, "cached": 1.25}, "groq/*": {"input": 0, "output": 0}}
    )
    assert parsed == {"openai/gpt-4o": Price(2.5, 10.0, 1.25), "groq/*": Price(0.0, 0.0)}


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"input": 1}, "output is required"),
        ({"output": 1}, "input is required"),
        ({"input": -1, "output": 1}, "input must be a non-negative number"),
        ({"input": "1", "output": 1}, "input must be a non-negative number"),
        ({"input": True, "output": 1}, "input must be a non-negative number"),
        ({"input": 1, "output": float("nan")}, "output must be a non-negative number"),
        ({"input": 1, "output": 1, "cached": -0.5}, "cached must be a non-negative number"),
        ({"input": 1, "output": 1, "cache": 0.5}, "unknown field cache"),
        (5, "expected a mapping"),
    ],
)
def test_parse_prices_names_the_key_of_an_invalid_entry(entry: object, problem: str) -> None:
    with pytest.raises(ValueError, match="acme/rocket") as raised:
        parse_prices({"acme/rocket": entry})
    assert problem in str(raised.value)
