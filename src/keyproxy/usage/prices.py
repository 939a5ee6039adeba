"""What tokens cost: a shipped list of public prices, overridable per provider, model or glob."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping

from keyproxy.config.prices import Price
from keyproxy.events import Tokens

# Public list prices, USD per million tokens (input, output, cached input), looked up on 2026-11-26
# in stored copies of the providers' pricing pages and of curated price lists; the standard tier,
# no batch discount. Where a price depends on prompt length (Gemini 2.5 Pro, Claude Sonnet 4 and
# 4.5 past 200k tokens) this is the short-prompt price. Anthropic bills cache writes at 1.25x input;
# Tokens does not count them apart, so they are billed here as plain input.
SHIPPED: Mapping[str, Price] = {
    # OpenAI, developers.openai.com/api/docs/pricing.
    "gpt-4o": Price(2.50, 10.00, 1.25),
    "gpt-4o-mini": Price(0.15, 0.60, 0.075),
    "gpt-4.1": Price(2.00, 8.00, 0.50),
    "gpt-4.1-mini": Price(0.40, 1.60, 0.10),
    "gpt-4.1-nano": Price(0.10, 0.40, 0.025),
    "o3": Price(2.00, 8.00, 0.50),
    "o4-mini": Price(1.10, 4.40, 0.275),
    "gpt-5": Price(1.25, 10.00, 0.125),
    "gpt-5-mini": Price(0.25, 2.00, 0.025),
    # Anthropic, platform.claude.com/docs/en/about-claude/pricing; cached = cache hits.
    "claude-opus-4": Price(15.00, 75.00, 1.50),
    "claude-opus-4-0": Price(15.00, 75.00, 1.50),
    "claude-opus-4-1": Price(15.00, 75.00, 1.50),
    "claude-sonnet-4": Price(3.00, 15.00, 0.30),
    "claude-sonnet-4-0": Price(3.00, 15.00, 0.30),
    "claude-sonnet-4-5": Price(3.00, 15.00, 0.30),
    "claude-haiku-4-5": Price(1.00, 5.00, 0.10),
    "claude-3-5-haiku": Price(0.80, 4.00, 0.08),
    # Google, ai.google.dev/gemini-api/docs/pricing, paid tier, text/image/video input.
    "gemini-2.5-pro": Price(1.25, 10.00, 0.125),
    "gemini-2.5-flash": Price(0.30, 2.50, 0.03),
    "gemini-2.5-flash-lite": Price(0.10, 0.40, 0.01),
    "gemini-2.0-flash": Price(0.10, 0.40, 0.025),
    # DeepSeek, api-docs.deepseek.com/quick_start/pricing: both names were served and billed as
    # DeepSeek-V4-Flash from 2026-04-24 until DeepSeek retired them on 2026-07-24.
    "deepseek-chat": Price(0.14, 0.28, 0.0028),
    "deepseek-reasoner": Price(0.14, 0.28, 0.0028),
    # Groq, groq.com/pricing; no cached price for these models.
    "llama-3.3-70b-versatile": Price(0.59, 0.79),
    "llama-3.1-8b-instant": Price(0.05, 0.08),
    # Mistral, mistral.ai/pricing; the -latest names follow Mistral's newest release (Large 3, Small 3.2).
    "mistral-large-latest": Price(0.50, 1.50),
    "mistral-small-latest": Price(0.10, 0.30),
}

# A dated or pinned variant of a listed model: gpt-4o-2024-08-06, claude-sonnet-4-5-20250929,
# gemini-2.0-flash-001, claude-3-5-haiku-latest, gemini-2.5-flash-preview-09-2025. A suffix that
# names another model (gpt-5-nano, o3-pro, claude-opus-4-5) is not one, so it gets no price
# rather than a wrong one.
_VARIANT = re.compile(r"\d{3,}(?:-\d{2}){0,2}|latest|(?:preview|exp)(?:-[\w.-]+)?")
_GLOB_CHARS = frozenset("*?[")


_REMEMBERED = 4096
"""(provider, model) answers a table keeps; clients choose model names, so it starts over when full."""


class PriceTable:
    """Prices by provider and model: overrides ("provider/model", "model", then globs in order) before SHIPPED.

    Callable as `table(provider, model, tokens)`, so it fits where a cost function is expected.
    """

    __slots__ = ("_exact", "_found", "_globs")

    def __init__(self, overrides: Mapping[str, Price] | None = None) -> None:
        self._found: dict[tuple[str, str], Price | None] = {}
        """Answers already looked up: an attempt's price is read per request, the lookup walks globs and names."""
        self._exact: dict[str, Price] = {}
        self._globs: list[tuple[re.Pattern[str], Price]] = []
        for key, price in (overrides or {}).items():
            if _GLOB_CHARS.isdisjoint(key):
                self._exact[key] = price
            else:
                self._globs.append((re.compile(fnmatch.translate(key)), price))

    def price(self, provider: str, model: str) -> Price | None:
        """The price of `model` at `provider`, or None when neither the overrides nor SHIPPED know it."""
        try:
            return self._found[provider, model]
        except KeyError:
            pass
        if len(self._found) >= _REMEMBERED:
            self._found.clear()
        price = self._found[provider, model] = self._look_up(provider, model)
        return price

    def _look_up(self, provider: str, model: str) -> Price | None:
        full = f"{provider}/{model}"
        price = self._exact.get(full) or self._exact.get(model)
        if price is not None:
            return price
        for pattern, price in self._globs:
            # A glob may name the provider ("groq/*") or only the model ("*-free").
            if pattern.match(full) or pattern.match(model):
                return price
        return _shipped_price(model)

    def cost(self, provider: str, model: str, tokens: Tokens) -> float | None:
        """USD for `tokens`, or None for an unknown model.

        Cached tokens are part of the prompt and billed at the cached price. Reasoning tokens are not
        added: OpenAI and the translated Gemini and Anthropic answers already count them in the completion.
        """
        price = self.price(provider, model)
        if price is None:
            return None
        cached_rate = price.input if price.cached is None else price.cached
        fresh = max(tokens.prompt - tokens.cached, 0)
        return (fresh * price.input + tokens.cached * cached_rate + tokens.completion * price.output) / 1e6

    def __call__(self, provider: str, model: str, tokens: Tokens) -> float | None:
        return self.cost(provider, model, tokens)


def _shipped_price(model: str) -> Price | None:
    """The SHIPPED price of `model` or of the listed model it is a dated variant of; the longest match wins."""
    # A vendor prefix inside the model name ("openai/gpt-4o" at a router) names no different model.
    name = model.rpartition("/")[2].lower()
    price = SHIPPED.get(name)
    end = len(name)
    # Cutting at each dash from the right tries the longest candidate first.
    while price is None and (end := name.rfind("-", 0, end)) > 0:
        if _VARIANT.fullmatch(name, end + 1):
            price = SHIPPED.get(name[:end])
    return price
