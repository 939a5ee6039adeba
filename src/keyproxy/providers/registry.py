"""Protocol name -> adapter. A new upstream protocol is one module plus one line here."""

from __future__ import annotations

from collections.abc import Callable

from keyproxy.config.settings import ProviderSettings, UpstreamProtocol
from keyproxy.providers.anthropic import AnthropicAdapter
from keyproxy.providers.azure import AzureAdapter
from keyproxy.providers.base import Grant, Grants, ProviderAdapter
from keyproxy.providers.gemini import GeminiAdapter
from keyproxy.providers.gemini_cli import GeminiCliAdapter
from keyproxy.providers.openai import OpenAIAdapter

ADAPTERS: dict[UpstreamProtocol, Callable[[ProviderSettings, Grants], ProviderAdapter]] = {
    "openai": lambda provider, _: OpenAIAdapter(provider.base_url),
    "anthropic": lambda provider, _: AnthropicAdapter(provider.base_url),
    "gemini": lambda provider, _: GeminiAdapter(provider.base_url),
    "azure": lambda provider, _: AzureAdapter(provider.base_url, provider.api_version),
    "gemini_cli": lambda provider, grants: GeminiCliAdapter(provider.base_url, grants),
}


def adapter_for(provider: ProviderSettings, grants: Grants | None = None) -> ProviderAdapter:
    """`grants`: the current grant of each OAuth account (engine/accounts.py), for protocols that take them."""
    return ADAPTERS[provider.protocol](provider, grants or _no_grants)


def _no_grants(secret: str) -> Grant:
    raise LookupError("this provider's accounts are not ready: no grant to lend")
