"""Protocol name -> adapter. A new upstream protocol is one module plus one line here."""

from __future__ import annotations

from collections.abc import Callable

from keyproxy.config.settings import ProviderSettings, UpstreamProtocol
from keyproxy.providers.anthropic import AnthropicAdapter
from keyproxy.providers.azure import AzureAdapter
from keyproxy.providers.base import ProviderAdapter
from keyproxy.providers.gemini import GeminiAdapter
from keyproxy.providers.openai import OpenAIAdapter

ADAPTERS: dict[UpstreamProtocol, Callable[[ProviderSettings], ProviderAdapter]] = {
    "openai": lambda provider: OpenAIAdapter(provider.base_url),
    "anthropic": lambda provider: AnthropicAdapter(provider.base_url),
    "gemini": lambda provider: GeminiAdapter(provider.base_url),
    "azure": lambda provider: AzureAdapter(provider.base_url, provider.api_version),
}


def adapter_for(provider: ProviderSettings) -> ProviderAdapter:
    return ADAPTERS[provider.protocol](provider)
