"""What the fake protocols share: words as tokens, word pieces for streams, "fake" tool arguments."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_PIECES = re.compile(r"\s*\S+|\s+")
_WORDS = re.compile(r"[\w-]+")
_JSON_PIECE = 8


def texts_of(value: object) -> list[str] | None:
    """An `input` or `prompt` (a string, strings, or token arrays) as strings, a token array standing for
    itself by its repr; None when it is none of these."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not value:
        return None
    if all(isinstance(item, int) for item in value):
        return [repr(value)]
    texts = [item if isinstance(item, str) else repr(item) for item in value if isinstance(item, str | list)]
    return texts if len(texts) == len(value) else None


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


def images_note(count: int) -> str:
    if not count:
        return ""
    return f" [{count} image]" if count == 1 else f" [{count} images]"


def named_tools(names: Sequence[str], text: str) -> list[str]:
    """The offered tool names that `text` mentions as words, in the order offered: a prompt that names two
    tools gets two calls in one turn, unless the request allows one call at a time."""
    said = set(_WORDS.findall(text))
    return [name for name in names if name in said]


def echo_object(text: str) -> dict[str, str]:
    """The answer to a request for any JSON object (OpenAI's json_object, Gemini's JSON MIME type)."""
    return {"echo": text}
