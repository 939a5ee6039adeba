"""What a provider adapter does: describe upstream requests and read upstream answers. No I/O.

Requests arrive in the wire format of their endpoint: OpenAI for "chat" and "embeddings", Anthropic
for "messages" and "count_tokens" (only Anthropic-protocol adapters take those, so nothing is lost on
the way). Adapters of other protocols translate the request there and the answer back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Literal, Protocol

from keyproxy.errors import UpstreamStatusError
from keyproxy.transport.base import RequestTimeouts, UpstreamRequest

Endpoint = Literal["chat", "embeddings", "messages", "count_tokens"]


class ProviderAdapter(Protocol):
    def request(
        self, endpoint: Endpoint, secret: str, body: bytes, timeouts: RequestTimeouts, *, stream: bool
    ) -> UpstreamRequest:
        """The upstream request for one attempt; `body` already names the upstream model."""
        ...

    def read_body(self, endpoint: Endpoint, body: bytes, sent: bytes) -> bytes:
        """A complete non-streaming answer, in the endpoint's wire format (`sent` is the request as the
        endpoint spoke it); raises InvalidUpstreamResponse, or UpstreamClientError for a prompt the
        upstream refused, when it is not an answer."""
        ...

    def read_stream(self, endpoint: Endpoint, chunks: AsyncIterator[bytes], sent: bytes) -> AsyncIterator[bytes]:
        """The upstream's event stream in the endpoint's wire format. Empty pieces (silences) pass
        through; a stream that breaks off is not given an end it never had."""
        ...

    def models_request(self, secret: str, timeouts: RequestTimeouts) -> UpstreamRequest: ...

    def parse_models(self, body: bytes) -> list[str]:
        """Model ids from the upstream's model list; raises InvalidUpstreamResponse if unreadable."""
        ...

    def classify(self, status: int, headers: Mapping[str, str], body: bytes, now: float) -> UpstreamStatusError:
        """The error an error status means, with the upstream's retry hint when it gave one."""
        ...
