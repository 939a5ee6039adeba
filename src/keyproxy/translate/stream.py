"""The shape every stream translator has, and how one is applied to an upstream's chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol


class StreamTranslator(Protocol):
    def feed(self, chunk: bytes) -> bytes:
        """Translated bytes for whatever whole events `chunk` completes (often none)."""
        ...

    def close(self) -> bytes:
        """What the end of a cleanly finished input adds; never an end the input did not have."""
        ...


async def translated(chunks: AsyncIterator[bytes], translator: StreamTranslator) -> AsyncIterator[bytes]:
    """Silences (empty pieces) pass through so keep-alives still flow; empty translations are dropped."""
    async for chunk in chunks:
        if not chunk:
            yield b""
            continue
        out = translator.feed(chunk)
        if out:
            yield out
    tail = translator.close()
    if tail:
        yield tail
