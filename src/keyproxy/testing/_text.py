"""What the fake protocols share: words as tokens, word pieces for streams, "fake" tool arguments."""

from __future__ import annotations

import json
import re
from typing import Any

_PIECES = re.compile(r"\s*\S+|\s+")
_JSON_PIECE = 8


def words(text: str | None) -> int:
    return len(text.split()) if text else 0


def word_pieces(text: str) -> list[str]:
    """ "Echo: a b" as "Echo:", " a", " b": each word with the space before it."""
    return _PIECES.findall(text)


def json_pieces(text: str) -> list[str]:
    """Pieces of at most 8 characters, and at least two of them, so clients must join them."""
    size = max(1, min(_JSON_PIECE, len(text) // 2))
    return [text[start : start + size] for start in range(0, len(text), size)]


def fake_arguments(schema: object) -> dict[str, Any]:
    """ "fake" for each required string parameter of a JSON schema (Gemini spells the type STRING)."""
    if not isinstance(schema, dict):
        return {}
    properties = schema.get("properties")
    required = schema.get("required")
    if not isinstance(properties, dict) or not isinstance(required, list):
        return {}
    return {
        name: "fake"
        for name in required
        if isinstance(name, str)
        and isinstance(properties.get(name), dict)
        and str(properties[name].get("type", "")).lower() == "string"
    }


def fake_json(schema: object) -> str:
    """A JSON text matching a JSON schema (or Gemini's schema): "fake" for strings, 1 for numbers, true,
    empty arrays, the first enum value; every property filled, as strict schemas require."""
    return json.dumps(_fake_value(schema), separators=(",", ":"))


def _fake_value(schema: object) -> Any:
    if not isinstance(schema, dict):
        return None
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    options = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(options, list) and options:
        return _fake_value(options[0])
    kind = str(schema.get("type", "object" if "properties" in schema else "")).lower()
    if kind == "object":
        properties = schema.get("properties")
        return {name: _fake_value(sub) for name, sub in properties.items()} if isinstance(properties, dict) else {}
    return {"string": "fake", "integer": 1, "number": 1, "boolean": True, "array": []}.get(kind)


def images_note(count: int) -> str:
    if not count:
        return ""
    return f" [{count} image]" if count == 1 else f" [{count} images]"
