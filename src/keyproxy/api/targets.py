"""From a request body to the targets it names: the routing envelope of each route, checked by type while it
is decoded, and model names as clients send them (`provider/model`, an alias, or a bare name)."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar, overload

import msgspec

from keyproxy.config.filters import model_allowed
from keyproxy.config.settings import ProviderSettings, Settings
from keyproxy.engine.model_list import ModelList
from keyproxy.errors import InvalidRequest, ModelNotFound

# The envelope is only what routing reads and what every upstream requires; msgspec checks its types
# while it decodes and skips the rest of the body (validated as JSON, never built), so a request no
# upstream could serve is a 400 before any key is touched.


class Envelope(msgspec.Struct, kw_only=True):
    """The fields every route reads."""

    model: str | None = None
    stream: bool | None = None
    temperature: float | None = None


class _Message(msgspec.Struct, gc=False):
    """The role is read; the content is kept as the raw bytes it is (never built), for the conversation's
    fingerprint (api/affinity.py). Holding no containers, it can be left out of the GC."""

    role: str
    content: msgspec.Raw = msgspec.Raw()


_Messages = Annotated[list[_Message], msgspec.Meta(min_length=1)]


class ChatEnvelope(Envelope, kw_only=True):
    messages: _Messages
    # Ids a client gives its conversation (api/affinity.py); read only when they are strings.
    prompt_cache_key: Any = None
    user: Any = None


class EmbeddingsEnvelope(Envelope, kw_only=True):
    input: str | list[Any]


class CompletionsEnvelope(Envelope, kw_only=True):
    prompt: str | list[Any]


class MessagesEnvelope(Envelope, kw_only=True):
    messages: _Messages
    max_tokens: int
    system: msgspec.Raw = msgspec.Raw()
    metadata: Any = None


class CountTokensEnvelope(Envelope, kw_only=True):
    messages: _Messages


E = TypeVar("E", bound=Envelope)


def decoder(envelope: type[E]) -> msgspec.json.Decoder[E]:
    return msgspec.json.Decoder(envelope)


_ENVELOPE = decoder(Envelope)


@overload
def read_envelope(raw: bytes) -> tuple[Envelope, str]: ...
@overload
def read_envelope(raw: bytes, envelope: msgspec.json.Decoder[E]) -> tuple[E, str]: ...


def read_envelope(raw: bytes, envelope: msgspec.json.Decoder[Any] = _ENVELOPE) -> tuple[Any, str]:
    """The envelope (of the route's type) and its model name; every way the body can be unusable is a 400
    saying which, with the path of the field at fault."""
    try:
        found = envelope.decode(raw)
    except msgspec.ValidationError as error:
        if not raw.lstrip().startswith(b"{"):
            raise InvalidRequest("request body must be a JSON object") from None
        raise InvalidRequest(f"invalid request body: {error}") from None
    except msgspec.DecodeError:
        raise InvalidRequest("request body is not valid JSON") from None
    except (UnicodeDecodeError, RecursionError) as error:
        # msgspec raises these for bytes that are not UTF-8 and for nesting deeper than it recurses.
        raise InvalidRequest(f"request body cannot be read: {type(error).__name__}") from None
    if not found.model:
        raise InvalidRequest('"model" is required, as "provider/model", an alias or a model name')
    return found, found.model


# A struct: one is made per request, and msgspec builds it in C.
class Target(msgspec.Struct, frozen=True):
    provider: ProviderSettings
    model: str
    """The model name the upstream knows."""


Resolution = tuple[list[Target], bool]
"""The targets to try in order (one, or an alias's chain) and whether the chain also moves on when a target
rejects the prompt's length."""


class Resolver:
    """Model names as clients send them, resolved in this order: an alias; `provider/model` naming a
    configured provider (no model list is read); a bare name goes to KEYPROXY_DEFAULT_PROVIDER when it is
    set, else to the provider whose model list names it (the first in provider order when several do);
    anything else is 404 model_not_found."""

    def __init__(self, settings: Settings, models: ModelList) -> None:
        self.settings = settings
        self.models = models

    async def resolve(self, model: str) -> Resolution:
        return self.named(model) or await self.bare(model)

    def named(self, model: str) -> Resolution | None:
        """An alias or `provider/model`, known without any I/O (the hot path stays synchronous); None for
        a bare name."""
        alias = self.settings.aliases.get(model)
        if alias is not None:
            targets = [_target(self.settings.providers[name.partition("/")[0]], name) for name in alias.targets]
            return targets, alias.on_context_length
        provider_name, _, upstream_model = model.partition("/")
        provider = self.settings.providers.get(provider_name)
        if provider is not None and upstream_model:
            return [_target(provider, model)], False
        return None

    async def bare(self, model: str) -> Resolution:
        """A model name without a configured provider's prefix: the default provider, or the one listing it."""
        default = self.settings.default_provider
        if default is not None:
            return [_target(self.settings.providers[default], f"{default}/{model}")], False
        listing = await self.models.providers_listing(model)
        if listing:
            return [_target(self.settings.providers[listing[0]], f"{listing[0]}/{model}")], False
        configured = ", ".join(sorted(self.settings.providers)) or "none"
        aliases = f"; aliases: {', '.join(sorted(self.settings.aliases))}" if self.settings.aliases else ""
        raise ModelNotFound(
            f"model {model!r} not found: no configured provider lists it; "
            f"name it as provider/model with one of: {configured}{aliases}"
        )


def _target(provider: ProviderSettings, name: str) -> Target:
    """`name` is `provider/model`; the model must pass the provider's model filters."""
    model = name[len(provider.name) + 1 :]
    if not model_allowed(model, provider.ignore_models, provider.whitelist_models):
        raise ModelNotFound(f"model {name!r} is not offered by this proxy")
    # A `<P>_MODELS` name goes upstream as the id it stands for.
    return Target(provider, provider.static_models.get(model, model))
