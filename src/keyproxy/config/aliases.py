"""Aliases from the config file: virtual models whose targets are tried in order, checked against the providers."""

from __future__ import annotations

from collections.abc import Mapping

from keyproxy.config.file import describe
from keyproxy.config.filters import model_allowed
from keyproxy.config.providers import provider_name
from keyproxy.config.settings import Alias, ProviderSettings
from keyproxy.config.values import ValueReader

_FIELDS = ("on_context_length", "targets")


def read_aliases(
    raw: object, label: str, providers: Mapping[str, ProviderSettings], reader: ValueReader, warnings: list[str]
) -> dict[str, Alias]:
    """The valid aliases; each problem is an error naming the file and the key path, such as `aliases.coding[1]`."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        reader.fail(f"{label}: aliases", f"expected a mapping of alias name to targets, got {describe(raw)}")
        return {}
    checker = _Checker(label, providers, reader, warnings)
    aliases: dict[str, Alias] = {}
    for name, spec in raw.items():
        alias = checker.alias(name, spec)
        if alias is not None:
            aliases[alias.name] = alias
    return aliases


class _Checker:
    def __init__(
        self, label: str, providers: Mapping[str, ProviderSettings], reader: ValueReader, warnings: list[str]
    ) -> None:
        self.label = label
        self.providers = providers
        self.reader = reader
        self.warnings = warnings

    def fail(self, path: str, problem: str) -> None:
        self.reader.fail(f"{self.label}: {path}", problem)

    def alias(self, name: object, spec: object) -> Alias | None:
        path = f"aliases.{name}"
        if not isinstance(name, str):
            self.fail(path, f"an alias name must be text, got {describe(name)}")
            return None
        problem = self._name_problem(name)
        if problem is not None:
            self.fail(path, problem)
            return None
        valid = True
        on_context_length = False
        if isinstance(spec, dict):
            for key in spec:
                if key not in _FIELDS:
                    self.fail(f"{path}.{key}", f"unknown key; expected {' or '.join(_FIELDS)}")
                    valid = False
            flag = spec.get("on_context_length", False)
            if not isinstance(flag, bool):
                self.fail(f"{path}.on_context_length", f"expected true or false, got {describe(flag)}")
                valid = False
            if "targets" not in spec:
                self.fail(path, "missing targets")
                return None
            on_context_length = flag is True
            spec, path = spec["targets"], f"{path}.targets"
        if not isinstance(spec, list):
            self.fail(path, f'expected a list of "provider/model" targets, got {describe(spec)}')
            return None
        if not spec:
            self.fail(path, "needs at least one target")
            return None
        targets: list[str] = []
        for position, item in enumerate(spec):
            target = self.target(f"{path}[{position}]", item)
            if target is None:
                valid = False
            elif target in targets:
                self.fail(f"{path}[{position}]", f'repeats "{target}"')
                valid = False
            else:
                targets.append(target)
        return Alias(name, tuple(targets), on_context_length) if valid else None

    def _name_problem(self, name: str) -> str | None:
        if not name.strip():
            return "an alias name must not be empty"
        if "/" in name:
            return 'an alias name must not contain "/": "provider/model" names a model directly'
        if name in self.providers:
            return f"{name} is also the name of a configured provider; choose another alias name"
        return None

    def target(self, path: str, target: object) -> str | None:
        provider, _, model = target.partition("/") if isinstance(target, str) else ("", "", "")
        if not isinstance(target, str) or not provider or not model:
            self.fail(path, f'expected "provider/model", got {describe(target)}')
            return None
        settings = self.providers.get(provider)
        if settings is None:
            self.fail(path, self._unknown_provider(provider, model))
            return None
        if not model_allowed(model, settings.ignore_models, settings.whitelist_models):
            self.warnings.append(
                f"{self.label}: {path}: {target} is hidden by the model filters of {provider}; never tried"
            )
        return target

    def _unknown_provider(self, provider: str, model: str) -> str:
        problem = f'provider "{provider}" is not configured'
        known = provider_name(provider)
        if known != provider and known in self.providers:
            return f'{problem}; did you mean "{known}/{model}"?'
        if not self.providers:
            return f"{problem} (no provider is configured)"
        return f"{problem} (configured: {', '.join(sorted(self.providers))})"
