from __future__ import annotations

from typing import Any

import pytest

from keyproxy.errors import InvalidRequest
from keyproxy.translate.structured import anthropic_format, chat_response_format, closed, strict_ready

# What openai-python's parse() sends for `class Person(BaseModel): name: str; pet: Pet | None`.
PERSON: dict[str, Any] = {
    "type": "object",
    "title": "Person",
    "properties": {"name": {"type": "string"}, "pet": {"anyOf": [{"$ref": "#/$defs/Pet"}, {"type": "null"}]}},
    "required": ["name", "pet"],
    "additionalProperties": False,
    "$defs": {
        "Pet": {
            "type": "object",
            "properties": {"kind": {"type": "string"}},
            "required": ["kind"],
            "additionalProperties": False,
        }
    },
}


def test_a_strict_openai_schema_goes_to_anthropic_unchanged() -> None:
    spec = {"name": "Person", "strict": True, "schema": PERSON}
    assert anthropic_format({"type": "json_schema", "json_schema": spec}) == {"type": "json_schema", "schema": PERSON}


def test_text_asks_for_no_format() -> None:
    assert anthropic_format({"type": "text"}) is None
    assert anthropic_format(None) is None


@pytest.mark.parametrize("response_format", [{"type": "json_schema"}, {"type": "grammar"}, "json"])
def test_a_response_format_without_a_schema_is_refused(response_format: Any) -> None:
    with pytest.raises(InvalidRequest, match="response_format"):
        anthropic_format(response_format)


def test_closing_reaches_objects_in_definitions_arrays_and_unions() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "array", "items": {"type": "object", "properties": {}}},
            "b": {"anyOf": [{"type": "object"}, {"type": "null"}]},
        },
        "$defs": {"C": {"properties": {"x": {"type": "string"}}}},
    }
    out = closed(schema)
    assert out["properties"]["a"]["items"]["additionalProperties"] is False
    assert out["properties"]["b"]["anyOf"][0]["additionalProperties"] is False
    assert out["$defs"]["C"]["additionalProperties"] is False
    assert "additionalProperties" not in out["properties"]["b"]["anyOf"][1]


def test_an_explicitly_open_object_is_left_for_anthropic_to_judge() -> None:
    schema = {"type": "object", "additionalProperties": {"type": "string"}}
    assert closed(schema)["additionalProperties"] == {"type": "string"}


def test_a_closed_schema_with_every_property_required_is_strict_ready() -> None:
    assert strict_ready(PERSON)


@pytest.mark.parametrize(
    "schema",
    [
        {**PERSON, "required": ["name"]},
        {**PERSON, "additionalProperties": True},
        {**PERSON, "$defs": {"Pet": {"type": "object", "properties": {"kind": {"type": "string"}}}}},
    ],
)
def test_an_open_object_or_an_optional_property_is_not_strict_ready(schema: dict[str, Any]) -> None:
    assert not strict_ready(schema)


def test_an_anthropic_format_becomes_a_named_json_schema_response_format() -> None:
    assert chat_response_format({"type": "json_schema", "schema": PERSON}) == {
        "type": "json_schema",
        "json_schema": {"name": "Person", "schema": PERSON, "strict": True},
    }
