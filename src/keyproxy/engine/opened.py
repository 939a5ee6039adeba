"""A successful upstream answer held for relaying, with what it took to get it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from keyproxy.errors import UpstreamError
from keyproxy.events import Tokens
from keyproxy.providers.base import Endpoint
from keyproxy.transport.base import UpstreamResponse

Settle = Callable[["UpstreamError | None", bool, "Tokens | None", int], Awaitable[None]]


@dataclass(slots=True)
class Opened:
    """`finish` must be called once the answer has been relayed (or abandoned)."""

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
    attempts: int = 0
    upstream_seconds: float = 0.0
    """Time spent waiting on upstreams, across every attempt, until this answer (or its first chunk)."""
    _settle: Settle | None = field(default=None, repr=False)
    _done: bool = False

    async def finish(
        self, error: UpstreamError | None = None, *, record: bool = True, tokens: Tokens | None = None,
        answer_bytes: int = 0,
    ) -> None:  # fmt: skip
        """Release the key; a stream that broke after its first chunk still counts against it.

        With `record` False (the client left) the key is released without any verdict. `tokens` is what
        the upstream reported; without it the cost is estimated from the sizes.
        """
        if self._done:
            return
        self._done = True
        if self.response is not None:
            self.response.close()
        if self._settle is not None:
            await self._settle(error, record, tokens, answer_bytes)
