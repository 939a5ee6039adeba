"""What a provider adapter does: describe upstream requests and read upstream answers. No I/O.

Requests arrive in the wire format of their endpoint: OpenAI for "chat", "embeddings" and the legacy
"completions" (only OpenAI-protocol adapters take that one, untranslated), Anthropic
for "messages" and "count_tokens" (only Anthropic-protocol adapters take those, so nothing is lost on
the way), OpenAI's Responses API for "responses" (only OpenAI-protocol upstreams that serve it natively
get those). Adapters of other protocols translate the request there and the answer back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import msgspec

from keyproxy.config.settings import UpstreamProtocol
from keyproxy.errors import InvalidRequest, UpstreamStatusError
from keyproxy.translate.stream import StreamTranslator
from keyproxy.transport.base import UpstreamRequest

Endpoint = Literal["chat", "embeddings", "completions", "messages", "count_tokens", "responses"]
Method = Literal["POST", "GET", "DELETE"]
UsageReport = Callable[[Mapping[str, Any]], None]
"""Takes a usage object (OpenAI's or Anthropic's shape) a stream reported without showing it to the client."""

LEGACY_COMPLETIONS: frozenset[UpstreamProtocol] = frozenset({"openai", "azure"})
"""The protocols with OpenAI's legacy text completions (`/completions`); the others have no such endpoint."""

NAMED_BY_LIST: frozenset[UpstreamProtocol] = frozenset({"openai", "anthropic", "gemini"})
"""The protocols whose model list names what a request may ask for. Azure's names models, while requests
name deployments, so a bare model name is never looked up there."""


@dataclass(frozen=True, slots=True)
class Grant:
    """What an OAuth account lends one request: its current access token and the project it works in."""

    access_token: str = field(repr=False)
    project: str


Grants = Callable[[str], Grant]
"""An account's current grant, by the credential's secret (its refresh token); the engine has made it ready."""


class Reply(Protocol):
    """The client's answer made from the call endpoint's answer, when the client speaks another format (an
    Anthropic or Responses API client of a chat upstream). It runs inside the attempt, so an answer it cannot
    translate is an invalid answer like any other: the key gets a transient verdict and the next one is tried."""

    def body(self, body: bytes) -> bytes:
        """A whole answer in the client's format; raises InvalidUpstreamResponse when it cannot be made."""
        ...

    def stream(self) -> StreamTranslator:
        """A new translator for one attempt's stream."""
        ...


class Call(msgspec.Struct, frozen=True):
    """What one client request asks of one provider; each attempt sends it with another key. A struct: one
    or more are made per request, and msgspec builds them in C. Calls are not compared."""

    provider: str
    model: str
    """The model name the upstream knows (no provider prefix); `body` already names it."""
    endpoint: Endpoint
    body: bytes
    """Not in the repr, nor is `reply`."""
    stream: bool = False
    headers: Mapping[str, str] = msgspec.field(default_factory=dict)
    """Client headers the upstream protocol defines and should see (e.g. `anthropic-beta`)."""
    client_model: str = ""
    """The model as the client named it, which a translated answer carries; "" means `model`."""
    method: Method = "POST"
    """GET and DELETE act on something the upstream keeps (a stored response), named by `resource`; they
    cost no tokens, whatever usage the answer shows."""
    resource: str = ""
    """The id the endpoint's path ends with (`/responses/{resource}`), for GET and DELETE."""
    key_id: str | None = None
    """The only key the call may use (a fingerprint): what an upstream keeps belongs to the key that made it."""
    conversation: str | None = None
    """Which conversation the request continues (api/affinity.py): balanced rotation keeps one on one key."""
    reply: Reply | None = None
    """How the client's answer is made from this call's, when the client reads another format."""

    @property
    def answer_model(self) -> str:
        return self.client_model or self.model

    def __repr__(self) -> str:
        return (
            f"Call(provider={self.provider!r}, model={self.model!r}, endpoint={self.endpoint!r}, stream={self.stream})"
        )


class ProviderAdapter(Protocol):
    def request(self, call: Call, secret: str) -> UpstreamRequest:
        """The upstream request for one attempt with one key."""
        ...

    def read_body(self, call: Call, body: bytes) -> bytes:
        """A complete non-streaming answer, in the call endpoint's wire format; raises
        InvalidUpstreamResponse, or UpstreamClientError for a prompt the upstream refused, when it is
        not an answer."""
        ...

    def read_stream(self, call: Call, chunks: AsyncIterator[bytes], report: UsageReport) -> AsyncIterator[bytes]:
        """The upstream's event stream in the call endpoint's wire format. Empty pieces (silences) pass
        through; a stream that breaks off is not given an end it never had. Usage the stream carries but the
        client did not ask to see (a translated stream without `include_usage`) goes to `report` instead."""
        ...

    def models_request(self, secret: str) -> UpstreamRequest: ...

    def parse_models(self, body: bytes) -> list[str]:
        """Model ids from the upstream's model list; raises InvalidUpstreamResponse if unreadable."""
        ...

    def classify(self, status: int, headers: Mapping[str, str], body: bytes, now: float) -> UpstreamStatusError:
        """The error an error status means, with the upstream's retry hint when it gave one."""
        ...


@contextmanager
def refusing_for(call: Call) -> Iterator[None]:
    """A request a translator refuses says which configured provider it was meant for."""
    try:
        yield
    except InvalidRequest as exc:
        raise InvalidRequest(f"{exc.message} (provider {call.provider!r}, model {call.model!r})") from None
