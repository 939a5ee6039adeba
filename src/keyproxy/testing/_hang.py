"""Hanging requests: held open until the client gives up, or released with a 503 from any thread."""

from __future__ import annotations

import asyncio
import contextlib

from keyproxy.testing._asgi import Receive, Send, send_json, until_disconnect
from keyproxy.testing._delivery import JsonReply


class HangRelease:
    """One event per event loop that wakes the hanging requests; set from any thread, then renewed."""

    __slots__ = ("_event", "_loop")

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event = asyncio.Event()

    def event(self) -> asyncio.Event:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._event = loop, asyncio.Event()
        return self._event

    def release(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        event = self._event

        def fire() -> None:
            event.set()
            if self._event is event:
                self._event = asyncio.Event()

        # The loop may close between the check and the call; then nothing is hanging on it.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(fire)


async def hang(receive: Receive, send: Send, release: HangRelease, released: JsonReply) -> None:
    """Hold the request until the client leaves, or answer `released` when the hangs are released."""
    waits = (
        asyncio.ensure_future(until_disconnect(receive)),
        asyncio.ensure_future(release.event().wait()),
    )
    try:
        done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
    if waits[0] not in done:
        await send_json(send, released.status, released.payload, released.headers)
