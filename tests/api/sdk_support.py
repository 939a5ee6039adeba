"""What the tests of the official SDKs against every upstream protocol share. The SDKs are imported inside the
helpers: importing both costs more than a second, which collecting the rest of the suite should not pay."""

from __future__ import annotations

from typing import TYPE_CHECKING

from support import opened, provider_env

if TYPE_CHECKING:
    import anthropic
    import openai


def all_protocols(base: str) -> dict[str, str]:
    """Providers `fake` (OpenAI), `anthropic` and `gemini`, all served by the fake upstream at `base`."""
    root = base.removesuffix("/v1")
    env = provider_env(base)
    env.update(provider_env(base, name="anthropic"))
    env.update(provider_env(root + "/v1beta", name="gemini"))
    return env


def claude(url: str) -> anthropic.Anthropic:
    import anthropic

    return opened(anthropic.Anthropic(base_url=url, api_key="unused", max_retries=0, timeout=20))


def gpt(url: str) -> openai.OpenAI:
    import openai

    return opened(openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=20))
