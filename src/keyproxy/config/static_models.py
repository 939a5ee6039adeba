"""`<P>_MODELS`: a provider's models named in configuration, for upstreams that have no model list.

As in the old proxy the value is JSON: an array of names (each also the upstream's id), or an object
of name to `{"id": upstream id}`. Per-model `options` are not applied, and said so. A value that does not
even start as JSON is another program's variable (Ollama's OLLAMA_MODELS is a directory): a warning, not
an error that would stop the proxy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from keyproxy.config.values import ValueReader

_VARIABLE = re.compile(r"^(?P<prefix>[A-Z0-9_]+?)_MODELS$")


def read_static_models(reader: ValueReader, variable: str, warnings: list[str]) -> dict[str, str]:
    """Listed name -> the model id sent upstream; a value that is not such JSON is an error naming it."""
    raw = reader.raw(variable)
    if raw is None:
        return {}
    if not raw.startswith(("[", "{")):
        warnings.append(f'{variable} is not a JSON array of model names or object {{"name": {{"id": ...}}}}; ignored')
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        reader.fail(variable, 'expected a JSON array of model names or a JSON object {"name": {"id": "..."}}')
        return {}
    if isinstance(parsed, list) and all(isinstance(name, str) and name.strip() for name in parsed):
        return {name.strip(): name.strip() for name in parsed}
    if not isinstance(parsed, dict):
        reader.fail(variable, "expected a JSON array of model names or a JSON object of name to {id, options}")
        return {}
    models: dict[str, str] = {}
    with_options: list[str] = []
    for name, entry in parsed.items():
        upstream = entry.get("id", name) if isinstance(entry, dict) else None
        if not name.strip() or not isinstance(upstream, str) or not upstream.strip():
            reader.fail(variable, f"entry {name!r}: expected an object with an optional string id")
            continue
        models[name.strip()] = upstream.strip()
        if entry.get("options"):
            with_options.append(name)
    if with_options:
        warnings.append(
            f"{variable}: per-model options are not applied (the request's own fields are sent as they are): "
            + ", ".join(with_options)
        )
    return models


def unclaimed(values: Mapping[str, str], prefixes: Iterable[str]) -> list[str]:
    """The `<P>_MODELS` variables set for no configured provider, named so a typo is not silent."""
    claimed = set(prefixes)
    found = []
    for variable in sorted(values):
        match = _VARIABLE.match(variable)
        # Only a value that is a list is taken for one meant for a provider.
        if match is None or not values[variable].strip().startswith(("[", "{")) or variable.startswith("KEYPROXY_"):
            continue
        prefix = match["prefix"]
        # `<P>_API_KEY_<N>_MODELS` is one key's models, not a provider's.
        if prefix in claimed or "_API_KEY" in prefix:
            continue
        found.append(f"{variable} is set but no provider {prefix.lower()} is configured; ignored")
    return found
