"""What a provider adapter does: describe upstream requests and read upstream answers. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

from keyproxy.errors import UpstreamStatusError
from keyproxy.transport.base import RequestTimeouts, UpstreamRequest

Endpoint = Literal["chat", "embeddings"]


class ProviderAdapter(Protocol):
    def request(
        self,
        endpoint: Endpoint,
        secret: str,
        body: bytes,
        timeouts: RequestTimeouts,
    ) -> UpstreamRequest:
        """The upstream request for one attempt; `body` already names the upstream model."""
        ...

    def models_request(self, secret: str, timeouts: RequestTimeouts) -> UpstreamRequest: ...

    def parse_models(self, body: bytes) -> list[str]:
        """Model ids from the upstream's model list; raises InvalidUpstreamResponse if unreadable."""
        ...

    def classify(self, status: int, headers: Mapping[str, str], body: bytes, now: float) -> UpstreamStatusError:
        """The error an error status means, with the upstream's retry hint when it gave one."""
        ...

    def validate(self, body: bytes) -> dict[str, Any]:
        """A complete non-streaming answer parsed; raises InvalidUpstreamResponse if it is not one."""
        ...

    def stream_complete(self, tail: bytes) -> bool:
        """Whether a stream whose last bytes are `tail` ended the way this protocol ends a full answer."""
        ...
