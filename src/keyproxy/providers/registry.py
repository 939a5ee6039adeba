"""Protocol name -> adapter. A new upstream protocol is one module plus one line here."""

from __future__ import annotations

from collections.abc import Callable

from keyproxy.config.settings import Protocol, ProviderSettings
from keyproxy.providers.base import ProviderAdapter
from keyproxy.providers.openai import OpenAIAdapter

# Until native adapters land, Gemini and Anthropic are reached through their documented
# OpenAI-compatible endpoints, with the same keys.
ADAPTERS: dict[Protocol, Callable[[ProviderSettings], ProviderAdapter]] = {
    "openai": lambda provider: OpenAIAdapter(provider.base_url),
    "gemini": lambda provider: OpenAIAdapter(provider.base_url + "/openai"),
    "anthropic": lambda provider: OpenAIAdapter(provider.base_url, {"anthropic-version": "2023-06-01"}),
}


def adapter_for(provider: ProviderSettings) -> ProviderAdapter:
    return ADAPTERS[provider.protocol](provider)
