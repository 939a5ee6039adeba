"""Embeddings as the fake computes them: 8 floats derived from a hash of each input, so equal inputs match."""

from __future__ import annotations

import base64
import hashlib
import math
import struct
from typing import Any

from keyproxy.testing._delivery import JsonReply
from keyproxy.testing._text import texts_of
from keyproxy.testing.responses import invalid_request

DIMENSIONS = 8
_FLOAT32 = struct.Struct(f"<{DIMENSIONS}f")
_INT32 = struct.Struct(f"<{DIMENSIONS}i")


def embeddings_reply(body: dict[str, Any]) -> JsonReply:
    model = body.get("model")
    texts = texts_of(body.get("input"))
    encoding = body.get("encoding_format", "float")
    if not isinstance(model, str) or not model:
        return JsonReply(400, invalid_request("you must provide a model parameter", "model"))
    if texts is None:
        return JsonReply(400, invalid_request("input must be a string, or an array of strings or tokens", "input"))
    if encoding not in ("float", "base64"):
        return JsonReply(400, invalid_request("encoding_format must be 'float' or 'base64'", "encoding_format"))

    data = [
        {
            "object": "embedding",
            "index": index,
            "embedding": _encode(_packed(text), base64_format=encoding == "base64"),
        }
        for index, text in enumerate(texts)
    ]
    tokens = sum(len(text.split()) for text in texts)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return JsonReply(200, {"object": "list", "data": data, "model": model, "usage": usage})


def unit_vector(text: str) -> list[float]:
    """The vector for `text`, as floats."""
    return list(_FLOAT32.unpack(_packed(text)))


def _packed(text: str) -> bytes:
    """A unit vector as little-endian float32, the one form both encodings are read from so they agree."""
    raw = _INT32.unpack(hashlib.sha256(text.encode()).digest())
    norm = math.sqrt(sum(float(v) * v for v in raw)) or 1.0
    return _FLOAT32.pack(*(v / norm for v in raw))


def _encode(packed: bytes, *, base64_format: bool) -> str | list[float]:
    if base64_format:
        return base64.b64encode(packed).decode()
    return list(_FLOAT32.unpack(packed))
