"""How a prepared answer goes on the wire: whole, slowly, or cut off before or after its first chunk."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from keyproxy.testing._asgi import Headers, Send, send_json, start

Cut = Literal["before_first_chunk", "after_first_chunk"]

DONE = b"data: [DONE]\n\n"

_SSE_HEADERS = ((b"cache-control", b"no-cache"),)


@dataclass(frozen=True, slots=True)
class JsonReply:
    status: int
    payload: object
    headers: Headers = ()


@dataclass(frozen=True, slots=True)
class StreamReply:
    """Server-sent events, each already framed; the first `head` frames make up the first chunk.

    A cut after the first chunk lets `head` frames through: one for OpenAI and Gemini, but for
    Anthropic everything up to the first content delta.
    """

    frames: tuple[bytes, ...]
    head: int = 1


Reply = JsonReply | StreamReply


def data_frames(events: Iterable[object], end: bytes = b"\n\n") -> tuple[bytes, ...]:
    """`data: <json>` events; Gemini ends each with CRLF CRLF, OpenAI with LF LF."""
    return tuple(b"data: " + msgspec.json.encode(event) + end for event in events)


def named_frames(events: Iterable[Mapping[str, Any]]) -> tuple[bytes, ...]:
    """`event: <type>` then `data: <json>`, as Anthropic names each event by its type."""
    return tuple(
        b"event: " + str(event["type"]).encode() + b"\ndata: " + msgspec.json.encode(event) + b"\n\n"
        for event in events
    )


async def deliver(send: Send, reply: Reply, *, pace: float = 0.0, cut: Cut | None = None) -> None:
    """Send `reply`, waiting `pace` seconds between stream events.

    A cut returns with the response unfinished: uvicorn then closes the connection without the
    final chunk, which clients see as a broken payload rather than a short answer.
    """
    if isinstance(reply, JsonReply):
        if cut is None:
            await send_json(send, reply.status, reply.payload, reply.headers)
            return
        body = msgspec.json.encode(reply.payload)
        await start(send, reply.status, b"application/json", reply.headers, len(body))
        if cut == "after_first_chunk":
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        return

    await start(send, 200, b"text/event-stream; charset=utf-8", _SSE_HEADERS)
    if cut == "before_first_chunk":
        return
    frames = reply.frames[: reply.head] if cut == "after_first_chunk" else reply.frames
    last = len(frames) - 1
    for number, frame in enumerate(frames):
        if number and pace:
            await asyncio.sleep(pace)
        more = cut is not None or number < last
        await send({"type": "http.response.body", "body": frame, "more_body": more})
