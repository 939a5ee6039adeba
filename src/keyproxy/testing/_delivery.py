"""How a prepared answer goes on the wire: whole, slowly, or cut off before or after its first chunk."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

import msgspec

from keyproxy.testing._asgi import Headers, Send, send_json, start

Cut = Literal["before_first_chunk", "after_first_chunk"]

_SSE_HEADERS = ((b"cache-control", b"no-cache"),)


@dataclass(frozen=True, slots=True)
class JsonReply:
    status: int
    payload: object
    headers: Headers = ()


@dataclass(frozen=True, slots=True)
class StreamReply:
    """Server-sent events, each one JSON object; the `[DONE]` event is added on delivery."""

    events: tuple[object, ...]


Reply = JsonReply | StreamReply


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
    for number, event in enumerate(reply.events):
        if number and pace:
            await asyncio.sleep(pace)
        await send(
            {
                "type": "http.response.body",
                "body": b"data: " + msgspec.json.encode(event) + b"\n\n",
                "more_body": True,
            }
        )
        if cut == "after_first_chunk":
            return
    await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})
