"""Structured output between OpenAI's `response_format` and Anthropic's `output_config.format`.

Both constrain the answer's text to a JSON schema. OpenAI also has `json_object` (any JSON object), which
Anthropic cannot express: it constrains output only to a schema, and every object in it must be closed.
"""

from __future__ import annotations

import re
from typing import Any

from keyproxy.errors import InvalidRequest
from keyproxy.translate.malformed import malformed_request

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Keywords whose values are schemas, or lists or maps of schemas, where objects may hide.
_SCHEMA = ("items", "additionalProperties", "not", "if", "then", "else", "contains")
_SCHEMAS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")


@malformed_request("response_format")
def anthropic_format(response_format: Any) -> dict[str, Any] | None:
    """`output_config.format` for an OpenAI `response_format`; None for plain text."""
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if response_format is None or kind == "text":
        return None
    if kind == "json_object":
        raise InvalidRequest(
            "response_format json_object cannot be sent to Anthropic, which constrains output only to a JSON "
            "schema: send response_format json_schema instead"
        )
    spec = response_format.get("json_schema") if kind == "json_schema" else None
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if not isinstance(schema, dict):
        raise InvalidRequest("response_format must be text, json_object, or json_schema with a schema object")
    schema = closed(schema)
    if isinstance(spec, dict) and isinstance(spec.get("description"), str) and "description" not in schema:
        schema["description"] = spec["description"]
    return {"type": "json_schema", "schema": schema}


@malformed_request("output format")
def chat_response_format(output_format: Any) -> dict[str, Any]:
    """OpenAI's `response_format` for an Anthropic `output_config.format` (or the older `output_format`)."""
    kind = output_format.get("type") if isinstance(output_format, dict) else None
    schema = output_format.get("schema") if kind == "json_schema" and isinstance(output_format, dict) else None
    if not isinstance(schema, dict):
        raise InvalidRequest("output_config.format must be {'type': 'json_schema', 'schema': {...}}")
    title = schema.get("title")
    name = title if isinstance(title, str) and _NAME.match(title) else "response"
    # OpenAI's strict mode takes only closed objects whose every property is required; other schemas are
    # still sent, and followed as closely as the upstream can.
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": strict_ready(schema)}}


def closed(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy in which every object schema that leaves `additionalProperties` open says false, as Anthropic
    requires; an explicit value other than false is kept (Anthropic rejects it, visibly)."""
    out = dict(schema)
    if _is_object(out) and "additionalProperties" not in out:
        out["additionalProperties"] = False
    for key in _SCHEMA:
        if isinstance(out.get(key), dict):
            out[key] = closed(out[key])
    for key in _SCHEMAS:
        if isinstance(out.get(key), list):
            out[key] = [closed(item) if isinstance(item, dict) else item for item in out[key]]
    for key in _SCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {name: closed(item) if isinstance(item, dict) else item for name, item in out[key].items()}
    return out


def strict_ready(schema: Any) -> bool:
    """Whether OpenAI's strict mode accepts the schema: every object closed, every property required."""
    if isinstance(schema, list):
        return all(strict_ready(item) for item in schema)
    if not isinstance(schema, dict):
        return True
    if _is_object(schema) and "$ref" not in schema:
        properties = schema.get("properties") or {}
        required = schema.get("required") or []
        if schema.get("additionalProperties") is not False or set(required) != set(properties):
            return False
    children = [schema.get(key) for key in (*_SCHEMA, *_SCHEMAS)]
    children += [list(schema[key].values()) for key in _SCHEMA_MAPS if isinstance(schema.get(key), dict)]
    return all(strict_ready(child) for child in children if isinstance(child, dict | list))


def _is_object(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in schema
