"""Price overrides from the config file: USD per million tokens per model or glob, validated at load."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens; `cached` is for prompt tokens read from a provider cache, None bills them as input."""

    input: float
    output: float
    cached: float | None = None


def parse_prices(data: Mapping[str, Any]) -> dict[str, Price]:
    """Price overrides from config, e.g. {"openai/gpt-4o": {"input": 2.5, "output": 10, "cached": 1.25}}.

    Raises ValueError naming the first entry that is not a valid price.
    """
    prices: dict[str, Price] = {}
    for key, entry in data.items():
        if not isinstance(key, str) or not key.strip():
            raise ValueError(f"{key!r}: a price needs a model name or glob as its key")
        if not isinstance(entry, Mapping):
            raise ValueError(f"{key}: expected a mapping with input, output and optionally cached")
        unknown = sorted(str(name) for name in entry if name not in ("input", "output", "cached"))
        if unknown:
            raise ValueError(f"{key}: unknown field {', '.join(unknown)} (expected input, output, cached)")
        for name in ("input", "output"):
            if name not in entry:
                raise ValueError(f"{key}: {name} is required (USD per million tokens)")
        cached = entry.get("cached")
        prices[key] = Price(
            input=_rate(key, "input", entry["input"]),
            output=_rate(key, "output", entry["output"]),
            cached=None if cached is None else _rate(key, "cached", cached),
        )
    return prices


def _rate(key: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{key}: {name} must be a non-negative number of USD per million tokens, got {value!r}")
    return float(value)
