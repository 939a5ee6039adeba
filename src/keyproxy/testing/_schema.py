"""A deterministic value that matches a JSON schema (or Gemini's OpenAPI subset), for answers asked to follow one.

Strings are "fake", numbers 0, booleans false, arrays hold one item, objects every property; an enum or a
const gives its first value, a union its first branch that is not null. Local `$ref`s are followed.
"""

from __future__ import annotations

from typing import Any

_DEPTH = 12


def instance(schema: object) -> Any:
    return _value(schema, schema if isinstance(schema, dict) else {}, 0)


def _value(schema: object, root: dict[str, Any], depth: int) -> Any:
    if not isinstance(schema, dict) or depth > _DEPTH:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        return _value(_resolve(root, ref), root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for union in ("anyOf", "oneOf"):
        branches = schema.get(union)
        if isinstance(branches, list) and branches:
            chosen = next((b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")), branches[0])
            return _value(chosen, root, depth + 1)
    if isinstance(schema.get("allOf"), list) and schema["allOf"]:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = _value(part, root, depth + 1)
            if isinstance(value, dict):
                merged |= value
        return merged
    return _typed(schema, root, depth)


def _typed(schema: dict[str, Any], root: dict[str, Any], depth: int) -> Any:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    kind = str(kind).lower() if kind is not None else ("object" if "properties" in schema else "")
    if kind == "object":
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return {}
        return {name: _value(sub, root, depth + 1) for name, sub in properties.items()}
    if kind == "array":
        return [_value(schema.get("items"), root, depth + 1)] if isinstance(schema.get("items"), dict) else []
    return {"string": "fake", "integer": 0, "number": 0.0, "boolean": False}.get(kind)


def _resolve(root: dict[str, Any], ref: str) -> object:
    node: object = root
    for step in ref[2:].split("/"):
        node = node.get(step.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
    return node


def open_object(schema: object, path: str = "schema") -> str | None:
    """Where a schema has an object that does not set `additionalProperties: false`, which Anthropic's
    structured outputs refuse; None when every object is closed."""
    if not isinstance(schema, dict):
        return None
    if (schema.get("type") == "object" or "properties" in schema) and schema.get("additionalProperties") is not False:
        return path
    children = [(f"{path}.{key}", schema.get(key)) for key in ("items", "not")]
    children += [
        (f"{path}.{key}.{n}", item)
        for key in ("anyOf", "oneOf", "allOf")
        for n, item in enumerate(schema.get(key) or ())
    ]
    children += [
        (f"{path}.{key}.{name}", item)
        for key in ("properties", "$defs", "definitions")
        for name, item in (schema.get(key) or {}).items()
    ]
    return next((found for where, child in children if (found := open_object(child, where)) is not None), None)
