"""JSON Schema cut down to the OpenAPI subset Gemini accepts for function parameters and response schemas."""

from __future__ import annotations

from typing import Any

import msgspec

from keyproxy.errors import InvalidRequest
from keyproxy.translate.malformed import malformed_request

# Keywords copied as they are; every keyword not named here or handled below is dropped.
_COPIED = ("description", "minItems", "maxItems", "minimum", "maximum")
# Gemini rejects any other format: "only 'enum' and 'date-time' are supported for STRING type".
_FORMATS = {"string": {"enum", "date-time"}, "number": {"float", "double"}, "integer": {"int32", "int64"}}
# What a `{"type": "null"}` member of an anyOf becomes once cleaned.
_NULL_BRANCH: dict[str, Any] = {"nullable": True}
_MAX_REF_DEPTH = 16
_MAX_REF_EXPANSIONS = 256


@malformed_request("JSON schema")
def clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A new schema Gemini accepts: local `$ref`s inlined, `null` unions folded into `nullable`, the rest dropped."""
    return _Cleaner(schema).clean(schema, ())


class _Cleaner:
    __slots__ = ("_expansions", "_root")

    def __init__(self, root: dict[str, Any]) -> None:
        self._root = root
        self._expansions = 0

    def clean(self, node: Any, refs: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(node, dict):
            return {}  # a boolean schema: anything goes, which an empty schema also says
        ref = node.get("$ref")
        if isinstance(ref, str):
            return self._inline(ref, node, refs)
        out: dict[str, Any] = {key: node[key] for key in _COPIED if key in node}
        nullable = node.get("nullable") is True
        kind, alternatives, null_type = _types(node.get("type"))
        nullable = nullable or null_type
        if kind is not None:
            out["type"] = kind
        if isinstance(node.get("format"), str) and node["format"] in _FORMATS.get(kind or "", ()):
            out["format"] = node["format"]
        if isinstance(node.get("propertyOrdering"), list):
            out["propertyOrdering"] = list(node["propertyOrdering"])
        self._structure(node, kind, out, refs)
        values = node["enum"] if isinstance(node.get("enum"), list) else [node["const"]] if "const" in node else None
        if values is not None:
            nullable = _enum(values, out) or nullable
        branches: list[dict[str, Any]] = [{"type": name} for name in alternatives]
        branches += self._branches(node, refs)
        if _NULL_BRANCH in branches:
            nullable = True
            branches = [branch for branch in branches if branch != _NULL_BRANCH]
        out = _merge_branches(out, branches)
        for member in node.get("allOf") or ():
            out = _merge_all_of(out, self.clean(member, refs))
        if nullable:
            out["nullable"] = True
        return out

    def _structure(self, node: dict[str, Any], kind: str | None, out: dict[str, Any], refs: tuple[str, ...]) -> None:
        """`properties`, `required` and `items`, cleaned in turn."""
        properties = node.get("properties")
        if isinstance(properties, dict):
            out["properties"] = {name: self.clean(value, refs) for name, value in properties.items()}
            required = node.get("required")
            if isinstance(required, list):
                # Gemini rejects a required name that no property defines.
                out["required"] = [name for name in required if name in out["properties"]]
        items = node.get("items")
        if isinstance(items, list):
            out["items"] = {"anyOf": [self.clean(item, refs) for item in items]}
        elif isinstance(items, dict):
            out["items"] = self.clean(items, refs)
        elif kind == "array":
            # Gemini rejects an array without items ("items: missing field"); strings are the least surprising guess.
            out["items"] = {"type": "string"}

    def _branches(self, node: dict[str, Any], refs: tuple[str, ...]) -> list[dict[str, Any]]:
        # Gemini has no oneOf; anyOf is the closest it understands.
        members = [*(node.get("anyOf") or ()), *(node.get("oneOf") or ())]
        return [self.clean(member, refs) for member in members]

    def _inline(self, ref: str, node: dict[str, Any], refs: tuple[str, ...]) -> dict[str, Any]:
        if ref in refs:
            raise InvalidRequest(f"schema $ref {ref!r} is recursive; Gemini schemas cannot express recursion")
        self._expansions += 1
        if len(refs) >= _MAX_REF_DEPTH or self._expansions > _MAX_REF_EXPANSIONS:
            raise InvalidRequest("schema $refs expand too far to be inlined for Gemini")
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        # Keywords beside the $ref (often a description) describe this use, so they win over the target's.
        return self.clean({**_resolve(self._root, ref), **siblings}, (*refs, ref))


def _types(declared: Any) -> tuple[str | None, list[str], bool]:
    """The one type Gemini is given, the alternatives that need anyOf instead, and whether null is allowed."""
    if isinstance(declared, str):
        names = [declared]
    elif isinstance(declared, list):
        names = [name for name in declared if isinstance(name, str)]
    else:
        names = []
    concrete = [name for name in names if name != "null"]
    null = len(concrete) < len(names)
    if len(concrete) == 1:
        return concrete[0], [], null
    return None, concrete, null


def _enum(values: list[Any], out: dict[str, Any]) -> bool:
    """Set Gemini's enum on `out`, which takes strings only; whether null was among the values."""
    null = None in values
    members = [_as_text(value) for value in values if value is not None]
    if not members:
        return null
    if out.get("type", "string") == "string":
        out["type"] = "string"
        out["enum"] = members
    else:
        # Gemini refuses enums on other types ("only allowed for STRING type"); the model still reads the list.
        allowed = f"Allowed values: {', '.join(members)}."
        out["description"] = f"{out['description']} {allowed}" if out.get("description") else allowed
    return null


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else msgspec.json.encode(value).decode()


def _merge_branches(out: dict[str, Any], branches: list[dict[str, Any]]) -> dict[str, Any]:
    if not branches:
        return out
    if len(branches) == 1:
        return {**branches[0], **out}  # the field's own description outranks its type's
    return {**out, "anyOf": branches}


def _merge_all_of(out: dict[str, Any], member: dict[str, Any]) -> dict[str, Any]:
    """allOf as one schema: properties and required lists unite, other keywords keep their first value."""
    merged = {**member, **out}
    if "properties" in out and "properties" in member:
        added = {name: value for name, value in member["properties"].items() if name not in out["properties"]}
        merged["properties"] = {**out["properties"], **added}
    required = [*out.get("required", ()), *member.get("required", ())]
    if required:
        merged["required"] = list(dict.fromkeys(required))
    return merged


def _resolve(root: dict[str, Any], ref: str) -> dict[str, Any]:
    """The schema a local JSON pointer (`#/$defs/Name`) names."""
    if not ref.startswith("#"):
        raise InvalidRequest(f"schema $ref {ref!r} is not local; only refs into the same schema can be inlined")
    target: Any = root
    for token in filter(None, ref[1:].split("/")):
        key = token.replace("~1", "/").replace("~0", "~")
        target = target.get(key) if isinstance(target, dict) else None
    if not isinstance(target, dict):
        raise InvalidRequest(f"schema $ref {ref!r} points at no schema")
    return target
