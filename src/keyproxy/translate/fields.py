"""Request fields a translator cannot carry: each is either refused with a 400 naming it, or named as one that
changes nothing in the answer. A field is never dropped silently, so a client never gets free text where it
asked for JSON, one choice where it asked for three, or no log probabilities where it asked for them."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from keyproxy.errors import InvalidRequest

WHY: dict[str, str] = {
    "audio": "it answers with text only",
    "modalities": "it answers with text only",
    "logprobs": "it returns no log probabilities",
    "top_logprobs": "it returns no log probabilities",
    "logit_bias": "it takes no token biases",
    "presence_penalty": "it has no sampling penalties",
    "frequency_penalty": "it has no sampling penalties",
    "seed": "it has no seeded sampling",
    "functions": "the deprecated functions API is not translated; send tools",
    "function_call": "the deprecated functions API is not translated; send tool_choice",
    "web_search_options": "OpenAI's web search does not run there",
    "verbosity": "it has no verbosity setting",
    "store": "it stores no completions",
    "service_tier": "it has no such service tier",
    "moderation": "OpenAI's moderation does not run there",
    "container": "its code-execution container does not exist there",
    "inference_geo": "the inference region cannot be guaranteed there",
    "speed": "it has no fast mode",
    "diagnostics": "it reports no diagnostics",
    "mcp_servers": "MCP servers are only reached by Anthropic itself",
}
"""Why a field is refused, by name; any other field is refused as having no equivalent."""


_ON_WHEN_PRESENT = frozenset({"web_search_options", "audio"})
"""Fields that switch something on even when empty: `web_search_options: {}` asks for a search."""


def asks(name: str, value: Any) -> bool:
    """Whether a field's value asks for anything: null, false, 0 and empty values ask for the default."""
    if name in _ON_WHEN_PRESENT:
        return value is not None
    return value not in (None, False, 0, "", [], {})


def refuse(name: str, target: str) -> InvalidRequest:
    reason = WHY.get(name, "it has no equivalent")
    return InvalidRequest(f"{name!r} cannot be sent to {target}: {reason}. Remove it or choose another model.")


def refuse_unhandled(request: Mapping[str, Any], handled: Collection[str], target: str) -> None:
    """Raise for the first field `handled` does not name whose value asks for something."""
    for name, value in request.items():
        if name not in handled and asks(name, value):
            raise refuse(name, target)


def stop_sequences(stop: Any) -> list[str]:
    """OpenAI's `stop` (a string or a list of strings) as a list; anything else is refused."""
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list) and all(isinstance(item, str) for item in stop):
        return list(stop)
    raise InvalidRequest("stop must be a string or a list of strings")
