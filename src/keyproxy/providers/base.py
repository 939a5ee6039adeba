"""What a provider adapter does: describe upstream requests and read upstream answers. No I/O.

Requests arrive in the wire format of their endpoint: OpenAI for "chat", "embeddings" and the legacy
"completions" (only OpenAI-protocol adapters take that one, untranslated), Anthropic
for "messages" and "count_tokens" (only Anthropic-protocol adapters take those, so nothing is lost on
the way). Adapters of other protocols translate the request there and the answer back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from keyproxy.config.settings import UpstreamProtocol
from keyproxy.errors import UpstreamStatusError
from keyproxy.transport.base import UpstreamRequest

Endpoint = Literal["chat", "embeddings", "completions", "messages", "count_tokens"]

LEGACY_COMPLETIONS: frozenset[UpstreamProtocol] = frozenset({"openai"})
"""The protocols with OpenAI's legacy text completions (`/completions`); the others have no such endpoint."""


@dataclass(frozen=True, slots=True)
class Call:
    """What one client request asks of one provider; each attempt sends it with another key."""

    provider: str
    model: str
    """The model name the upstream knows (no provider prefix); `body` already names it."""
    endpoint: Endpoint
    body: bytes = field(repr=False)
    stream: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    """Client headers the upstream protocol defines and should see (e.g. `anthropic-beta`)."""


class ProviderAdapter(Protocol):
    def request(self, call: Call, secret: str) -> UpstreamRequest:
        """The upstream request for one attempt with one key."""
        ...

    def read_body(self, call: Call, body: bytes) -> bytes:
        """A complete non-streaming answer, in the call endpoint's wire format; raises
        InvalidUpstreamResponse, or UpstreamClientError for a prompt the upstream refused, when it is
        not an answer."""
        ...

    def read_stream(self, call: Call, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """The upstream's event stream in the call endpoint's wire format. Empty pieces (silences) pass
        through; a stream that breaks off is not given an end it never had."""
        ...

    def models_request(self, secret: str) -> UpstreamRequest: ...

    def parse_models(self, body: bytes) -> list[str]:
        """Model ids from the upstream's model list; raises InvalidUpstreamResponse if unreadable."""
        ...

    def classify(self, status: int, headers: Mapping[str, str], body: bytes, now: float) -> UpstreamStatusError:
        """The error an error status means, with the upstream's retry hint when it gave one."""
        ...
