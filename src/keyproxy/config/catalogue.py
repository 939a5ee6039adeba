"""Built-in providers: name, wire protocol, default base URL (the URL the protocol path is appended to) and
whether the upstream serves the Responses API itself; and the hosts that make any provider an Azure one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from keyproxy.config.settings import ReasoningField, ResponsesMode, UpstreamProtocol


@dataclass(frozen=True, slots=True)
class KnownProvider:
    protocol: UpstreamProtocol
    base_url: str
    responses: ResponsesMode = "translate"
    """"native" when the upstream has its own /responses, with stored responses, GET and DELETE."""
    reasoning: ReasoningField | None = None
    """The field the upstream takes earlier reasoning back in (its thinking models need it after tool calls)."""
    quota_groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Models that share one quota upstream, so they cool together (`QUOTA_GROUPS_<P>_<GROUP>` overrides)."""


CATALOGUE: dict[str, KnownProvider] = {
    "openai": KnownProvider("openai", "https://api.openai.com/v1", responses="native"),
    "anthropic": KnownProvider("anthropic", "https://api.anthropic.com/v1"),
    # No default address: every Azure resource has its own (AZURE_API_BASE).
    "azure": KnownProvider("azure", ""),
    "gemini": KnownProvider("gemini", "https://generativelanguage.googleapis.com/v1beta"),
    # Gemini CLI accounts (OAuth) on Google's Code Assist API.
    "gemini_cli": KnownProvider(
        "gemini_cli",
        "https://cloudcode-pa.googleapis.com/v1internal",
        # As the old proxy found them: an account's Pro models share one quota, and so do its 2.x Flash ones.
        quota_groups={
            "pro": ("gemini-2.5-pro", "gemini-3-pro-preview"),
            "flash": ("gemini-2.0-flash", "gemini-2.5-flash", "gemini-2.5-flash-lite"),
        },
    ),
    "groq": KnownProvider("openai", "https://api.groq.com/openai/v1"),
    "mistral": KnownProvider("openai", "https://api.mistral.ai/v1"),
    "openrouter": KnownProvider("openai", "https://openrouter.ai/api/v1", reasoning="reasoning"),
    "nvidia_nim": KnownProvider("openai", "https://integrate.api.nvidia.com/v1"),
    "deepseek": KnownProvider("openai", "https://api.deepseek.com/v1", reasoning="reasoning_content"),
    "chutes": KnownProvider("openai", "https://llm.chutes.ai/v1"),
    "together": KnownProvider("openai", "https://api.together.xyz/v1"),
    "fireworks": KnownProvider("openai", "https://api.fireworks.ai/inference/v1"),
    "cerebras": KnownProvider("openai", "https://api.cerebras.ai/v1"),
    "xai": KnownProvider("openai", "https://api.x.ai/v1"),
    "perplexity": KnownProvider("openai", "https://api.perplexity.ai"),
    "cohere": KnownProvider("openai", "https://api.cohere.ai/compatibility/v1"),
    "sambanova": KnownProvider("openai", "https://api.sambanova.ai/v1"),
    "deepinfra": KnownProvider("openai", "https://api.deepinfra.com/v1/openai"),
    "hyperbolic": KnownProvider("openai", "https://api.hyperbolic.xyz/v1"),
    "moonshot": KnownProvider("openai", "https://api.moonshot.ai/v1", reasoning="reasoning_content"),
    "novita": KnownProvider("openai", "https://api.novita.ai/v3/openai"),
}

# Names the old proxy's users have in their .env for a provider we know under another name.
ALIASES: dict[str, str] = {"nvidia": "nvidia_nim", "google": "gemini", "grok": "xai", "x_ai": "xai"}

# A provider whose base URL is on one of these hosts speaks Azure OpenAI, whatever it is called.
AZURE_HOSTS = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")
