"""Hypothesis strategies for fuzzing translators and parsers: arbitrary JSON, JSON shaped almost like a real
request or answer (any part replaced, dropped or added), event streams cut into arbitrary pieces, and the
check every fuzz test makes: a valid result, or keyproxy's own typed error, never another exception.

How many examples each test runs comes from the Hypothesis profile (tests/conftest.py): a few dozen in the
normal suite, many more with `--hypothesis-profile=fuzz`.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

import msgspec
from hypothesis import strategies as st

from keyproxy.errors import KeyproxyError

T = TypeVar("T")

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    # Words translators look for, so arbitrary JSON also walks their branches.
    st.sampled_from(
        ["text", "image_url", "tool_use", "function", "user", "assistant", "system", "tool", "message", "json_schema",
         "object", "array", "string", "STOP", "end_turn", "data:image/png;base64,AA==", "https://x.test/a.png",
         "[DONE]", "error", "message_stop", "usage", "#/$defs/a", "enabled", "auto", "none", "required"]
    ),
)  # fmt: skip

JSON: st.SearchStrategy[Any] = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=8) | st.sampled_from(["type", "text", "content", "role", "id"]), children,
                        max_size=4),
    ),
    max_leaves=20,
)  # fmt: skip
"""Any JSON value, as msgspec decodes one."""


@st.composite
def near(draw: st.DrawFn, template: Any) -> Any:
    """A value shaped like `template`: each part kept, replaced by arbitrary JSON, or (in an object) dropped,
    and objects sometimes get an extra field. Most of the shape survives, so the fuzzing reaches deep."""
    if draw(st.integers(0, 11)) == 0:
        return draw(JSON)
    if isinstance(template, dict):
        out = {key: draw(near(value)) for key, value in template.items() if draw(st.integers(0, 11)) != 0}
        if draw(st.integers(0, 7)) == 0:
            out.update(draw(st.dictionaries(st.text(max_size=8), JSON, max_size=2)))
        return out
    if isinstance(template, list):
        items = [draw(near(value)) for value in template]
        if items and draw(st.integers(0, 7)) == 0:
            items.append(draw(near(template[-1])))
        return items
    return template


def shaped(templates: Sequence[Any]) -> st.SearchStrategy[Any]:
    """Near one of `templates`, or (now and then) any JSON at all."""
    return st.one_of(st.sampled_from(templates).flatmap(near), JSON)


def objects(templates: Sequence[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """As `shaped`, but always an object at the top: what a decoded request or answer is once checked as one."""
    return shaped(templates).map(lambda value: value if isinstance(value, dict) else {"value": value})


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    payload = data if isinstance(data, bytes) else msgspec.json.encode(data)
    return head + b"data: " + payload + b"\n\n"


@st.composite
def pieces(draw: st.DrawFn, stream: bytes) -> list[bytes]:
    """`stream` cut at arbitrary places, as an upstream's bytes may arrive."""
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    bounds = [0, *cuts, len(stream)]
    return [stream[start:end] for start, end in itertools.pairwise(bounds)]


@st.composite
def event_streams(draw: st.DrawFn, events: Sequence[tuple[str | None, Any]]) -> list[bytes]:
    """A stream of events near `events` (some dropped, some repeated, some garbage), cut into pieces."""
    out = b""
    for name, data in events:
        roll = draw(st.integers(0, 15))
        if roll == 0:
            continue
        if roll == 1:
            out += draw(st.binary(max_size=24))
            continue
        value = draw(near(data))
        out += sse(value, name)
        if roll == 2:
            out += sse(draw(near(data)), name)
    if draw(st.booleans()):
        out = out[: draw(st.integers(0, len(out)))]
    return draw(pieces(out))


def outcome(call: Callable[[], T], expected: type[KeyproxyError] = KeyproxyError) -> T | None:
    """What `call` returns, or None when it raised `expected` (a typed refusal); any other exception fails."""
    try:
        return call()
    except expected:
        return None


def encodes(value: Any) -> bytes:
    """The value as JSON: a translation must be something the proxy can send."""
    return msgspec.json.encode(value)


def feed_all(translator: Any, chunks: Sequence[bytes], expected: type[KeyproxyError] = KeyproxyError) -> bytes | None:
    """A stream translator fed every piece then closed: its output, or None when it raised `expected`."""

    def run() -> bytes:
        out = b"".join(translator.feed(chunk) for chunk in chunks)
        return out + translator.close()

    return outcome(run, expected)


def drain(stream: AsyncIterator[bytes]) -> list[bytes]:
    async def collect() -> list[bytes]:
        return [chunk async for chunk in stream]

    return asyncio.run(collect())


async def chunks_of(pieces: Sequence[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


DEEP = b'{"a":' * 3000 + b"1" + b"}" * 3000
"""JSON nested deeper than any JSON decoder here recurses."""


@st.composite
def bodies(draw: st.DrawFn, templates: Sequence[Any]) -> bytes:
    """Bytes an upstream might send: JSON near `templates`, arbitrary bytes, bad UTF-8 in a string, deep nesting."""
    roll = draw(st.integers(0, 7))
    if roll == 0:
        return draw(st.binary(max_size=64))
    if roll == 1:
        return DEEP
    body = msgspec.json.encode(draw(shaped(templates)))
    if roll == 2 and b'"' in body:
        return body.replace(b'"', b'"\xff', 1)
    return body
