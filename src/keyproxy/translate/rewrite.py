"""Edits to an OpenAI request body that keep the client's bytes whenever they need no change."""

from __future__ import annotations

import re
from typing import Any

import orjson


def with_model(raw: bytes, data: dict[str, Any], client_model: str, upstream_model: str) -> bytes:
    """`raw` with its top-level "model" value replaced, re-serialising only when a splice is unsafe.

    The splice needs the exact `"model": "<client_model>"` text to occur once; an escaped spelling
    or the same pair nested elsewhere in the body falls back to re-serialising `data`.
    """
    if client_model == upstream_model:
        return raw
    pattern = re.compile(rb'"model"\s*:\s*' + re.escape(orjson.dumps(client_model)))
    matches = pattern.findall(raw)
    if len(matches) == 1:
        return pattern.sub(lambda _: b'"model":' + orjson.dumps(upstream_model), raw, count=1)
    return orjson.dumps({**data, "model": upstream_model})
