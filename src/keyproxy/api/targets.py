"""From a request body to the targets it names: the routing envelope, aliases, provider and model checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from keyproxy.config.filters import model_allowed
from keyproxy.config.settings import ProviderSettings, Settings
from keyproxy.errors import InvalidRequest, ModelNotFound


class Envelope(msgspec.Struct):
    """The only fields routing needs; the rest of the body is validated as JSON but not built."""

    model: Any = None
    stream: Any = None
    temperature: Any = None


_DECODER = msgspec.json.Decoder(Envelope)


@dataclass(frozen=True, slots=True)
class Target:
    provider: ProviderSettings
    model: str
    """The model name the upstream knows."""


def read_envelope(raw: bytes) -> tuple[Envelope, str]:
    """The envelope and its model name; every way the body can be unusable is a 400 saying which."""
    try:
        envelope = _DECODER.decode(raw)
    except msgspec.ValidationError:
        raise InvalidRequest("request body must be a JSON object") from None
    except msgspec.DecodeError:
        raise InvalidRequest("request body is not valid JSON") from None
    if not isinstance(envelope.model, str) or not envelope.model:
        raise InvalidRequest('"model" is required, as "provider/model" or an alias')
    return envelope, envelope.model


def resolve(settings: Settings, model: str) -> tuple[list[Target], bool]:
    """The targets to try in order (one for `provider/model`, the chain for an alias) and whether the
    chain also moves on when a target rejects the prompt's length."""
    alias = settings.aliases.get(model)
    names = alias.targets if alias is not None else (model,)
    targets = []
    for name in names:
        provider_name, _, upstream_model = name.partition("/")
        provider = settings.providers.get(provider_name)
        if provider is None or not upstream_model:
            configured = ", ".join(sorted(settings.providers)) or "none"
            aliases = f"; aliases: {', '.join(sorted(settings.aliases))}" if settings.aliases else ""
            raise InvalidRequest(
                f"unknown provider {provider_name!r} in model {model!r}; "
                f"use provider/model with one of: {configured}{aliases}"
            )
        if not model_allowed(upstream_model, provider.ignore_models, provider.whitelist_models):
            raise ModelNotFound(f"model {name!r} is not offered by this proxy")
        targets.append(Target(provider, upstream_model))
    return targets, alias is not None and alias.on_context_length
