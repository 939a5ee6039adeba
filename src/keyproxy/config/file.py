"""The optional YAML config file (`--config`, `KEYPROXY_CONFIG`): variables at the lowest precedence, and aliases."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from keyproxy.config.prices import Price, parse_prices
from keyproxy.errors import ConfigError

if TYPE_CHECKING:
    from yaml.nodes import Node

_SECTIONS = ("aliases", "variables", "prices")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """A config file as read. `aliases` is still as written: it is checked once the providers are known.

    `label` is how errors name the file: the path as the user gave it.
    """

    label: str
    path: Path | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    aliases: object = None
    prices: Mapping[str, Price] = field(default_factory=dict)
    errors: tuple[ConfigError, ...] = ()


def read_config_file(flag: Path | None, values: Mapping[str, str], cwd: Path | None = None) -> ConfigFile | None:
    """The file `--config` names, else the one KEYPROXY_CONFIG names (relative to `cwd`); None if neither does."""
    if flag is not None:
        given, option = flag, "--config"
    elif raw := values.get("KEYPROXY_CONFIG", "").strip():
        given, option = Path(raw), "KEYPROXY_CONFIG"
    else:
        return None
    path = (cwd or Path.cwd()) / given
    label = str(given)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return ConfigFile(label, path, errors=(ConfigError(option, f"no such file: {path}"),))
    except OSError as exc:
        return ConfigFile(label, path, errors=(ConfigError(option, f"cannot read {path}: {exc.strerror}"),))
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        return ConfigFile(label, path, errors=(ConfigError(f"{label} line {line}", "not valid UTF-8 text"),))
    return replace(parse_config(text, label), path=path)


def parse_config(text: str, label: str = "config") -> ConfigFile:
    """Pure: the same text always gives the same result. An empty file is an empty configuration."""
    try:
        document = _load_yaml(text, label)
    except ConfigError as error:
        return ConfigFile(label, errors=(error,))
    if document is None:
        return ConfigFile(label)
    if not isinstance(document, dict):
        problem = f"expected a mapping with the keys {', '.join(_SECTIONS)}, got {describe(document)}"
        return ConfigFile(label, errors=(ConfigError(label, problem),))
    errors = [
        ConfigError(f"{label}: {key}", f"unknown key; expected one of {', '.join(_SECTIONS)}")
        for key in document
        if key not in _SECTIONS
    ]
    variables = _variables(document.get("variables"), label, errors)
    prices = _prices(document.get("prices"), label, errors)
    return ConfigFile(
        label, variables=variables, aliases=document.get("aliases"), prices=prices, errors=tuple(errors)
    )


def describe(value: object) -> str:
    """What a YAML value is, for messages: `a list`, `a mapping`, `"gpt-4"`, `42`."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return f"a {type(value).__name__}"


def _prices(raw: object, label: str, errors: list[ConfigError]) -> dict[str, Price]:
    """`prices: {"provider/model" or glob: {input, output, cached}}` in USD per million tokens."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        errors.append(ConfigError(f"{label}: prices", f"expected a mapping of model: prices, got {describe(raw)}"))
        return {}
    try:
        return parse_prices(raw)
    except ValueError as exc:
        errors.append(ConfigError(f"{label}: prices", str(exc)))
        return {}


def _variables(raw: object, label: str, errors: list[ConfigError]) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        errors.append(ConfigError(f"{label}: variables", f"expected a mapping of NAME: value, got {describe(raw)}"))
        return {}
    variables: dict[str, str] = {}
    for name, value in raw.items():
        where = f"{label}: variables.{name}"
        if not isinstance(name, str) or not _NAME.match(name):
            errors.append(ConfigError(where, "not a variable name (letters, digits and _, not starting with a digit)"))
        elif name == "KEYPROXY_CONFIG":
            errors.append(ConfigError(where, "a config file cannot name another config file"))
        elif isinstance(value, bool):
            variables[name] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            variables[name] = str(value)
        elif value is None:
            # `NAME:` with nothing after it is an empty value, as `NAME=` is in a `.env` file.
            variables[name] = ""
        else:
            errors.append(ConfigError(where, f"expected a string, number or boolean, got {describe(value)}"))
    return variables


def _load_yaml(text: str, label: str) -> object:
    import yaml  # Deferred: only users with a config file pay for the import.

    # safe_load's own steps, with a check between composing and constructing: safe_load keeps the last of
    # two equal keys, which would silently drop an alias or a variable.
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _reject_duplicate_keys(node, label)
        document: object = loader.construct_document(node)
        return document
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{label} line {mark.line + 1}" if mark is not None else label
        raise ConfigError(where, f"invalid YAML: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(label, f"invalid YAML: {exc}") from exc
    finally:
        loader.dispose()


def _reject_duplicate_keys(root: Node, label: str) -> None:
    import yaml

    pending, seen = [root], set()
    while pending:
        node = pending.pop()
        # Anchors make the node graph shareable and even cyclic; visit each node once.
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in keys:
                        raise ConfigError(f"{label} line {key.start_mark.line + 1}", f"duplicate key {key.value!r}")
                    keys.add(key.value)
                pending.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)
