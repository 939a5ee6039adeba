"""Edits to an OpenAI request body that keep the client's bytes whenever they need no change."""

from __future__ import annotations

import functools
import re
from typing import Any

import msgspec

_VIEWS_FROM = 64 * 1024
"""Below this, slicing and concatenating is faster than joining views; above, the copies it makes matter."""


def with_model(raw: bytes, client_model: str, upstream_model: str) -> bytes:
    """`raw` with its top-level "model" value replaced, re-serialising only when a splice is unsafe.

    The splice needs the exact `"model": "<client_model>"` text to occur once; an escaped spelling
    or the same pair nested elsewhere in the body falls back to re-serialising the whole body.
    """
    if client_model == upstream_model:
        return raw
    pattern, escaped = _spelling(client_model)
    first = pattern.search(raw)
    # A second match, or an escaped spelling that could be the real top-level one, makes the splice unsafe.
    if first is not None and pattern.search(raw, first.end()) is None and escaped not in raw:
        model = _pair(upstream_model)
        if len(raw) < _VIEWS_FROM:
            return raw[: first.start()] + model + raw[first.end() :]
        # Joined from views, so a large body is copied once, not sliced into copies first.
        view = memoryview(raw)
        return b"".join((view[: first.start()], model, view[first.end() :]))
    data: dict[str, Any] = msgspec.json.decode(raw)
    data["model"] = upstream_model
    return msgspec.json.encode(data)


# Per model name, not per request: compiling the pattern was most of the splice (3.6 -> 1.3 us). Bounded, since
# clients choose model names.
@functools.lru_cache(maxsize=256)
def _spelling(client_model: str) -> tuple[re.Pattern[bytes], bytes]:
    """The `"model": "<name>"` pair as a client may space it, and the name's `\\/`-escaped spelling."""
    encoded = msgspec.json.encode(client_model)
    return re.compile(rb'"model"\s*:\s*' + re.escape(encoded)), encoded.replace(b"/", b"\\/")


@functools.lru_cache(maxsize=256)
def _pair(upstream_model: str) -> bytes:
    return b'"model":' + msgspec.json.encode(upstream_model)
