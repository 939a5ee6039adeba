"""Providers from variables: keys (`<P>_API_KEY[_N]`) and their priority tiers, base URLs and per-provider tuning."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from keyproxy.config.caps import read_caps
from keyproxy.config.catalogue import ALIASES, AZURE_HOSTS, CATALOGUE, KnownProvider
from keyproxy.config.fair_cycle import read_fair_cycle, unclaimed_fair_cycle
from keyproxy.config.oauth_accounts import read_accounts
from keyproxy.config.proxies import EnvironmentProxies, provider_proxy, proxy_for
from keyproxy.config.runtime_keys import key_problem
from keyproxy.config.settings import (
    Credential,
    GoogleOAuth,
    ProviderSettings,
    ReasoningField,
    ResponsesMode,
    RotationMode,
    UpstreamProtocol,
)
from keyproxy.config.static_models import read_static_models, unclaimed
from keyproxy.config.values import ValueReader, split_list
from keyproxy.redact import mask

_KEY = re.compile(r"^(?P<provider>[A-Z0-9_]+?)_API_KEY(?:_(?P<index>\d+))?$")
# Anchored at both ends, like _KEY, so `<P>_API_KEY_<N>_PRIORITY` is never read as a key.
_PRIORITY = re.compile(r"^(?P<provider>[A-Z0-9_]+?)_API_KEY(?:_(?P<index>\d+))?_PRIORITY$")
_BASE = re.compile(r"^(?P<provider>[A-Z0-9_]+?)_API_BASE$")
_MULTIPLIER = re.compile(r"^CONCURRENCY_MULTIPLIER_(?P<provider>[A-Z0-9_]+?)_PRIORITY_(?P<tier>\d+)(?:_[A-Z]+)?$")
_QUOTA_GROUP = re.compile(r"^QUOTA_GROUPS_(?P<provider>[A-Z0-9_]+)_(?P<group>[A-Z0-9]+)$")
_NOT_PROVIDERS = frozenset({"PROXY"})
_ROTATION: dict[str, RotationMode] = {"balanced": "balanced", "sequential": "sequential"}
_RESPONSES: dict[str, ResponsesMode] = {"native": "native", "translate": "translate"}
_REASONING: dict[str, ReasoningField | Literal["off"]] = {
    "reasoning_content": "reasoning_content", "reasoning": "reasoning", "off": "off",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Found:
    keys: dict[str, list[tuple[int, str, str]]]
    bases: dict[str, tuple[str, str]]
    # provider -> (key number, the key variable it names, the priority variable)
    priorities: dict[str, list[tuple[int, str, str]]]


def provider_name(prefix: str) -> str:
    name = prefix.lower()
    return ALIASES.get(name, name)


def read_providers(
    reader: ValueReader, warnings: list[str], oauth: GoogleOAuth | None = None, cwd: Path | None = None
) -> dict[str, ProviderSettings]:
    found = _scan(reader.values)
    environment = EnvironmentProxies.read(reader)
    tiers = _priorities(reader, found, warnings)
    accounts = {"gemini_cli": read_accounts(reader, oauth or GoogleOAuth(), cwd or Path.cwd(), warnings)}
    providers: dict[str, ProviderSettings] = {}
    for name in sorted(set(found.keys) | set(found.bases) | {name for name, held in accounts.items() if held}):
        credentials = _credentials(reader, name, found.keys.get(name, []), tiers, warnings)
        if name in accounts:
            if credentials:
                reader.fail(f"{name.upper()}_API_KEY", f"{name} takes OAuth accounts, not API keys")
            credentials = accounts[name]
        base = found.bases.get(name)
        known = CATALOGUE.get(name)
        if base is not None:
            base_url = _base_url(reader, base[1])
        elif known is not None and known.base_url:
            base_url = known.base_url
        else:
            if credentials:
                use = "to its resource's endpoint" if known else "to use it as an OpenAI-compatible provider"
                warnings.append(f"{name}: has keys but no base URL is known for it; set {name.upper()}_API_BASE {use}")
            continue
        if not credentials:
            if known is not None:
                # Empty keys were already reported one by one; only a base URL left without a key is news.
                if base is not None:
                    warnings.append(f"{name}: {base[1]} is set but no {name.upper()}_API_KEY")
                continue
            # A local OpenAI-compatible server (Ollama, vLLM) often needs no key at all.
            credentials = (Credential(secret="", source=f"{name.upper()}_API_BASE"),)
        proxy = provider_proxy(reader, base_url, _proxy_prefix(reader, name), environment)
        credentials = tuple(
            replace(c, proxy=proxy_for(reader, c.source, proxy), models=_key_models(reader, c.source))
            for c in credentials
        )
        tuned = _tuned(reader, name, base_url, credentials, custom=known is None, warnings=warnings)
        providers[name] = replace(tuned, proxy=proxy)
    warnings.extend(unclaimed(reader.values, (prefix for name in providers for prefix in _prefixes(name))))
    warnings.extend(unclaimed_fair_cycle(reader.values, reader.effective))
    caps = read_caps(reader, {name: _prefixes(name) for name in providers}, warnings)
    return {name: replace(provider, custom_caps=caps.get(name, ())) for name, provider in providers.items()}


def _key_models(reader: ValueReader, key_variable: str) -> tuple[str, ...] | None:
    """`<P>_API_KEY_<N>_MODELS`: the models one key may serve, comma-separated names or globs (`gpt-4o*`)."""
    variable = f"{key_variable}_MODELS"
    raw = reader.raw(variable)
    if raw is None:
        return None
    models = split_list(raw)
    if not models:
        reader.fail(variable, "expected model names or globs separated by commas (unset it to allow every model)")
    return models


def _scan(values: Mapping[str, str]) -> _Found:
    keys: dict[str, list[tuple[int, str, str]]] = {}
    bases: dict[str, tuple[str, str]] = {}
    priorities: dict[str, list[tuple[int, str, str]]] = {}
    for variable, value in values.items():
        if match := _KEY.match(variable):
            if match["provider"] in _NOT_PROVIDERS:
                continue
            index = int(match["index"]) if match["index"] is not None else 0
            keys.setdefault(provider_name(match["provider"]), []).append((index, variable, value))
        elif match := _PRIORITY.match(variable):
            if match["provider"] in _NOT_PROVIDERS:
                continue
            index = int(match["index"]) if match["index"] is not None else 0
            key_variable = variable.removesuffix("_PRIORITY")
            priorities.setdefault(provider_name(match["provider"]), []).append((index, key_variable, variable))
        elif (match := _BASE.match(variable)) and value.strip():
            # An empty base, as the old proxy's templates leave them, means the default.
            bases[provider_name(match["provider"])] = (value, variable)
    return _Found(keys, bases, priorities)


def _priorities(reader: ValueReader, found: _Found, warnings: list[str]) -> dict[str, int]:
    """Key variable -> tier, from `<P>_API_KEY[_N]_PRIORITY`.

    A priority spelled with the provider's other name (`NVIDIA_` for `nvidia_nim`) applies to the key with the
    same number, unless that key has a priority in its own spelling.
    """
    tiers: dict[str, int] = {}
    borrowed: list[tuple[int, str, int]] = []
    for name, entries in sorted(found.priorities.items()):
        spellings = _prefixes(name)
        keys = found.keys.get(name, [])
        for index, key_variable, variable in sorted(entries):
            tier = reader.integer(variable, None, minimum=1)
            if tier is None:
                continue
            if any(key == key_variable for _, key, _ in keys):
                tiers[key_variable] = tier
                continue
            same_number = [key for number, key, _ in keys if number == index]
            if not same_number:
                warnings.append(f"{variable} is set but there is no {key_variable}; ignored")
            prefix = key_variable.rsplit("_API_KEY", 1)[0]
            rank = spellings.index(prefix) if prefix in spellings else len(spellings)
            borrowed.extend((rank, key, tier) for key in same_number)
    # The provider's own spelling is borrowed before an alias's.
    for _, key, tier in sorted(borrowed):
        if key + "_PRIORITY" not in reader.values and key not in tiers:
            tiers[key] = tier
    return tiers


def _credentials(
    reader: ValueReader, name: str, entries: list[tuple[int, str, str]], tiers: Mapping[str, int], warnings: list[str]
) -> tuple[Credential, ...]:
    seen: set[str] = set()
    credentials: list[Credential] = []
    for _, variable, _ in sorted(entries):
        secret = reader.raw(variable) or ""
        if not secret:
            warnings.append(f"{variable} is empty; ignored")
            continue
        problem = key_problem(secret)
        if problem:
            # Every request with it would fail.
            reader.fail(variable, problem)
            continue
        if secret in seen:
            warnings.append(f"{variable} repeats a key already configured for {name} ({mask(secret)}); ignored")
            continue
        seen.add(secret)
        credentials.append(Credential(secret=secret, source=variable, priority=tiers.get(variable, 1)))
    return tuple(credentials)


def _proxy_prefix(reader: ValueReader, name: str) -> str:
    prefixes = _prefixes(name)
    # The provider's own spelling wins over an alias's, as for its other variables.
    return next((prefix for prefix in prefixes if f"{prefix}_PROXY" in reader.values), prefixes[0])


def _base_url(reader: ValueReader, variable: str) -> str:
    value = (reader.raw(variable) or "").rstrip("/")
    if not re.match(r"^https?://[^/\s]+", value):
        # The value is not echoed: it may be a key pasted into the wrong variable.
        reader.fail(variable, "expected an http:// or https:// URL")
    return value


def _tuned(
    reader: ValueReader, name: str, base_url: str, credentials: tuple[Credential, ...], *, custom: bool,
    warnings: list[str],
) -> ProviderSettings:
    known = CATALOGUE.get(name)
    prefixes = _prefixes(name)

    def variable(stem: str, suffix: str = "") -> str:
        # The provider's own name wins over an alias when both are set.
        names = [stem + prefix + suffix for prefix in prefixes]
        return next((found for found in names if found in reader.values), names[0])

    rotation = reader.choice(variable("ROTATION_MODE_"), "balanced", _ROTATION)
    max_concurrent = _per_mode(reader, variable("MAX_CONCURRENT_REQUESTS_PER_KEY_"), rotation)
    optimal = _per_mode(reader, variable("OPTIMAL_CONCURRENT_REQUESTS_PER_KEY_"), rotation)
    protocol: UpstreamProtocol = known.protocol if known else "openai"
    if (urlsplit(base_url).hostname or "").endswith(AZURE_HOSTS):
        protocol = "azure"
    return ProviderSettings(
        name=name,
        protocol=protocol,
        base_url=base_url,
        credentials=credentials,
        custom=custom,
        responses=_responses_mode(reader, variable("RESPONSES_API_"), known, protocol),
        api_version=reader.raw(f"{prefixes[0]}_API_VERSION") if protocol == "azure" else None,
        reasoning_field=_reasoning_field(reader, variable("REASONING_HISTORY_"), known),
        rotation_mode=rotation,
        max_concurrent_per_key=max_concurrent,
        optimal_concurrent_per_key=optimal,
        priority_multipliers=_multipliers(reader, prefixes),
        quota_groups=_quota_groups(reader, prefixes, known.quota_groups if known else {}),
        fair_cycle=read_fair_cycle(reader, variable, rotation),
        ignore_models=split_list(reader.raw(variable("IGNORE_MODELS_"))),
        whitelist_models=split_list(reader.raw(variable("WHITELIST_MODELS_"))),
        static_models=read_static_models(reader, variable("", "_MODELS"), warnings),
    )


def _per_mode(reader: ValueReader, variable: str, mode: RotationMode) -> int | None:
    """A concurrency cap: `<variable>_BALANCED` or `_SEQUENTIAL` for the provider's mode wins over the plain
    one, as in the old proxy (a suffix for the other mode changes nothing); 0 or less means no cap."""
    moded = f"{variable}_{mode.upper()}"
    value = reader.integer(moded if moded in reader.values else variable, None)
    return value if value is not None and value > 0 else None


def _responses_mode(
    reader: ValueReader, variable: str, known: KnownProvider | None, protocol: UpstreamProtocol
) -> ResponsesMode:
    """The catalogue's choice unless `RESPONSES_API_<P>` says otherwise (a custom provider translates by
    default). Only an OpenAI-protocol upstream can have the Responses API itself."""
    mode = reader.choice(variable, known.responses if known else "translate", _RESPONSES)
    if mode == "native" and protocol not in ("openai", "azure"):
        reader.fail(variable, f"a {protocol} provider has no Responses API of its own; only translate is possible")
        return "translate"
    return mode


def _reasoning_field(reader: ValueReader, variable: str, known: KnownProvider | None) -> ReasoningField | None:
    """The catalogue's field unless `REASONING_HISTORY_<P>` names one (or `off`); a custom provider sends none."""
    field = reader.choice(variable, (known.reasoning if known else None) or "off", _REASONING)
    return None if field == "off" else field


def _prefixes(name: str) -> tuple[str, ...]:
    """How variables name a provider: `NVIDIA_NIM`, and `NVIDIA` as the old proxy's `.env` has it."""
    return (name.upper(), *(alias.upper() for alias, target in ALIASES.items() if target == name))


def _multipliers(reader: ValueReader, prefixes: tuple[str, ...]) -> dict[int, float]:
    result: dict[int, float] = {}
    for variable in sorted(reader.values):
        match = _MULTIPLIER.match(variable)
        if match and match["provider"] in prefixes:
            tier = int(match["tier"])
            if variable.endswith(f"_PRIORITY_{tier}"):
                result[tier] = reader.number(variable, 1.0, minimum=0.0, strict_min=True)
            else:
                reader.number(variable, 1.0, minimum=0.0, strict_min=True)
    return result


def _quota_groups(
    reader: ValueReader, prefixes: tuple[str, ...], built_in: Mapping[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    """The catalogue's groups, each replaced by a variable of its name (an empty one removes it), and more."""
    groups = dict(built_in)
    # The group is the last word, so QUOTA_GROUPS_GEMINI_CLI_PRO is group PRO of GEMINI_CLI, not of GEMINI.
    for variable, value in reader.values.items():
        match = _QUOTA_GROUP.match(variable)
        if not match or match["provider"] not in prefixes:
            continue
        name = match["group"].lower()
        if models := split_list(value):
            groups[name] = models
        else:
            groups.pop(name, None)
    return groups
