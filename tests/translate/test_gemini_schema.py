from __future__ import annotations

import copy
from typing import Any

import pytest

from keyproxy.errors import InvalidRequest
from keyproxy.translate.gemini_schema import clean_schema

# The shape pydantic and MCP servers emit for tool parameters.
PYDANTIC_PARAMETERS: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "SearchArgs",
    "type": "object",
    "additionalProperties": False,
    "$defs": {
        "Place": {
            "title": "Place",
            "type": "object",
            "properties": {"city": {"title": "City", "type": "string"}},
            "required": ["city"],
        }
    },
    "properties": {
        "query": {"title": "Query", "type": "string", "minLength": 1},
        "place": {"$ref": "#/$defs/Place", "description": "Where to search."},
        "limit": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
    },
    "required": ["query"],
}


def test_keywords_gemini_rejects_are_dropped() -> None:
    cleaned = clean_schema(PYDANTIC_PARAMETERS)
    assert set(cleaned) == {"type", "properties", "required"}
    assert cleaned["properties"]["query"] == {"type": "string"}


def test_a_local_ref_is_inlined_and_its_sibling_description_wins() -> None:
    place = clean_schema(PYDANTIC_PARAMETERS)["properties"]["place"]
    assert place == {
        "description": "Where to search.",
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    }


def test_an_anyof_with_null_becomes_a_nullable_type() -> None:
    assert clean_schema(PYDANTIC_PARAMETERS)["properties"]["limit"] == {"type": "integer", "nullable": True}


def test_a_type_list_with_null_becomes_the_type_plus_nullable() -> None:
    assert clean_schema({"type": ["string", "null"]}) == {"type": "string", "nullable": True}


def test_a_type_list_of_several_types_becomes_anyof() -> None:
    assert clean_schema({"type": ["string", "integer"]}) == {"anyOf": [{"type": "string"}, {"type": "integer"}]}


def test_anyof_of_real_alternatives_is_kept() -> None:
    schema = {"anyOf": [{"type": "string"}, {"type": "object", "properties": {"a": {"type": "number"}}}]}
    assert clean_schema(schema) == schema


def test_oneof_is_sent_as_anyof() -> None:
    assert clean_schema({"oneOf": [{"type": "string"}, {"type": "integer"}]}) == {
        "anyOf": [{"type": "string"}, {"type": "integer"}]
    }


def test_allof_members_merge_into_one_schema() -> None:
    schema = {
        "type": "object",
        "allOf": [
            {"properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"b": {"type": "string"}}, "required": ["b"]},
        ],
    }
    assert clean_schema(schema) == {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "required": ["a", "b"],
    }


def test_const_becomes_a_one_value_enum() -> None:
    assert clean_schema({"type": "string", "const": "fixed"}) == {"type": "string", "enum": ["fixed"]}


def test_an_untyped_enum_is_declared_a_string_enum() -> None:
    assert clean_schema({"enum": ["a", "b"]}) == {"type": "string", "enum": ["a", "b"]}


def test_an_integer_enum_moves_into_the_description() -> None:
    cleaned = clean_schema({"type": "integer", "enum": [60, 1440], "description": "Minutes."})
    assert cleaned == {"type": "integer", "description": "Minutes. Allowed values: 60, 1440."}


def test_null_in_an_enum_becomes_nullable() -> None:
    assert clean_schema({"enum": ["a", None]}) == {"type": "string", "enum": ["a"], "nullable": True}


@pytest.mark.parametrize(
    ("schema", "kept"),
    [
        ({"type": "string", "format": "date-time"}, True),
        ({"type": "string", "format": "enum", "enum": ["a"]}, True),
        ({"type": "integer", "format": "int64"}, True),
        ({"type": "number", "format": "double"}, True),
        ({"type": "string", "format": "uri"}, False),
        ({"type": "string", "format": "email"}, False),
        ({"type": "integer", "format": "double"}, False),
    ],
)
def test_only_formats_gemini_accepts_are_kept(schema: dict[str, Any], kept: bool) -> None:
    assert ("format" in clean_schema(schema)) is kept


def test_supported_constraints_are_kept() -> None:
    schema = {
        "type": "array",
        "items": {"type": "number", "minimum": 0, "maximum": 1},
        "minItems": 1,
        "maxItems": 3,
        "description": "Scores.",
    }
    assert clean_schema(schema) == schema


def test_property_ordering_is_kept() -> None:
    schema = {"type": "object", "properties": {"b": {"type": "string"}}, "propertyOrdering": ["b"]}
    assert clean_schema(schema)["propertyOrdering"] == ["b"]


def test_an_array_without_items_gets_string_items() -> None:
    assert clean_schema({"type": "array"}) == {"type": "array", "items": {"type": "string"}}


def test_tuple_items_become_anyof_items() -> None:
    cleaned = clean_schema({"type": "array", "items": [{"type": "string"}, {"type": "integer"}]})
    assert cleaned["items"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}


def test_required_names_without_a_property_are_dropped() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a", "ghost"]}
    assert clean_schema(schema)["required"] == ["a"]


def test_the_input_is_never_mutated() -> None:
    original = copy.deepcopy(PYDANTIC_PARAMETERS)
    clean_schema(PYDANTIC_PARAMETERS)
    assert original == PYDANTIC_PARAMETERS


def test_a_recursive_ref_is_refused() -> None:
    schema = {
        "$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}},
        "$ref": "#/$defs/Node",
    }
    with pytest.raises(InvalidRequest, match="recursive"):
        clean_schema(schema)


def test_a_ref_that_expands_exponentially_is_refused() -> None:
    defs: dict[str, Any] = {"L0": {"type": "string"}}
    # Ten levels stay inside the depth limit but would inline 2**10 copies.
    for level in range(1, 11):
        ref = {"$ref": f"#/$defs/L{level - 1}"}
        defs[f"L{level}"] = {"type": "object", "properties": {"a": ref, "b": ref}}
    with pytest.raises(InvalidRequest, match="expand too far"):
        clean_schema({"$defs": defs, "$ref": "#/$defs/L10"})


def test_a_remote_ref_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="not local"):
        clean_schema({"$ref": "https://example.com/schema.json"})


def test_a_dangling_ref_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="points at no schema"):
        clean_schema({"$ref": "#/definitions/Missing"})


def test_draft_7_definitions_are_resolved_too() -> None:
    schema = {
        "definitions": {"Id": {"type": "string"}},
        "type": "object",
        "properties": {"id": {"$ref": "#/definitions/Id"}},
    }
    assert clean_schema(schema)["properties"]["id"] == {"type": "string"}
