"""A successful upstream answer held for relaying, with what it took to get it and what it cost."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from keyproxy.errors import UpstreamError
from keyproxy.events import Tokens
from keyproxy.providers.base import Endpoint
from keyproxy.transport.base import UpstreamResponse
from keyproxy.usage.tokens import UsageMeter, tokens_from_body

Settle = Callable[["UpstreamError | None", bool, "Tokens | None", int], Awaitable["Tokens | None"]]
"""Frees the key and reports the attempt; returns the tokens counted for a success."""


@dataclass(slots=True)
class Opened:
    """A whole answer is in `body`; a stream is read with `next_chunk`, its first chunk already in hand.
    Either way the answer's tokens are read here, as it passes. `finish` must be called once the answer
    has been relayed (or abandoned)."""

    status: int
    headers: Mapping[str, str]
    body: bytes = b""
    first_chunk: bytes = b""
    response: UpstreamResponse | None = None
    chunks: AsyncIterator[bytes] | None = None
    endpoint: Endpoint = "chat"
    """Which wire format the answer is in: the endpoint of the call that produced it."""
    provider: str = ""
    key_mask: str = ""
    """The key that answered, masked."""
    key_id: str = ""
    """The key that answered, by fingerprint: what the upstream keeps of this answer belongs to it."""
    attempts: int = 0
    upstream_seconds: float = 0.0
    """Time spent waiting on upstreams, across every attempt, until this answer (or its first chunk)."""
    meter: UsageMeter = field(default_factory=UsageMeter, repr=False)
    """Reads a stream's tokens as its chunks pass; a translator also hands it usage kept from the client."""
    tokens: Tokens | None = None
    """What the answer cost (as reported, else estimated), once `finish` has run."""
    _settle: Settle | None = field(default=None, repr=False)
    _streamed: int = 0
    _first_taken: bool = False
    _done: bool = False

    @property
    def streaming(self) -> bool:
        return self.chunks is not None

    async def next_chunk(self) -> bytes | None:
        """The stream's next piece (b"" for a silence), None at its end; raises UpstreamError if it breaks."""
        if not self._first_taken:
            self._first_taken = True
            chunk = self.first_chunk
        else:
            assert self.chunks is not None
            try:
                chunk = await anext(self.chunks)
            except StopAsyncIteration:
                return None
        if chunk:
            self.meter.observe(chunk)
            self._streamed += len(chunk)
        return chunk

    async def finish(self, error: UpstreamError | None = None, *, record: bool = True) -> None:
        """Release the key; a stream that broke after its first chunk still counts against it.

        With `record` False (the client left) the key is released without any verdict, but what was
        answered still cost tokens: those the upstream reported, else an estimate from the sizes.
        """
        if self._done:
            return
        self._done = True
        if self.response is not None:
            self.response.close()
        if self._settle is None:
            return
        if self.streaming:
            self.tokens = await self._settle(error, record, self.meter.tokens(), self._streamed)
        else:
            self.tokens = await self._settle(error, record, tokens_from_body(self.body), len(self.body))
