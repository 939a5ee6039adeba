"""Fakes shipped with keyproxy for its tests and for users testing their setups: clock, upstream, server,
an in-memory client and transport, and an event recorder.

FakeUpstream speaks OpenAI (under its prefix, /v1 by default), Anthropic Messages (/v1/messages) and
Gemini (/v1beta/models); a model named GEMINI_BLOCKED_MODEL gets Gemini's blocked-prompt answer.
FakeGoogle is Google's OAuth endpoints and the Code Assist API of Gemini CLI accounts.
OutboundProxy is an HTTP or SOCKS5 proxy on loopback, for testing keyproxy behind one.
AppClient, Exchange and Lifespan drive any ASGI app in memory; ASGITransport sends keyproxy's upstream
requests to an ASGI app (a FakeUpstream, say) in memory; BackgroundServer puts an app on a real socket.
"""

from keyproxy.testing._asgi import ResponseHeaders
from keyproxy.testing._gemini_generate import BLOCKED_MODEL as GEMINI_BLOCKED_MODEL
from keyproxy.testing.asgi_transport import ASGIResponse, ASGITransport
from keyproxy.testing.client import AppClient
from keyproxy.testing.clock import FakeClock
from keyproxy.testing.exchange import Exchange, Lifespan, Response, request
from keyproxy.testing.fake_google import FakeAccount, FakeGoogle
from keyproxy.testing.fake_upstream import DEFAULT_MODELS, FakeUpstream
from keyproxy.testing.faults import Fault, FaultKind
from keyproxy.testing.journal import KeyStats, ReceivedRequest
from keyproxy.testing.outbound_proxy import OutboundProxy
from keyproxy.testing.server import BackgroundServer, serve_fake_upstream
from keyproxy.testing.sink import RecordingSink

__all__ = [
    "DEFAULT_MODELS",
    "GEMINI_BLOCKED_MODEL",
    "ASGIResponse",
    "ASGITransport",
    "AppClient",
    "BackgroundServer",
    "Exchange",
    "FakeAccount",
    "FakeClock",
    "FakeGoogle",
    "FakeUpstream",
    "Fault",
    "FaultKind",
    "KeyStats",
    "Lifespan",
    "OutboundProxy",
    "ReceivedRequest",
    "RecordingSink",
    "Response",
    "ResponseHeaders",
    "request",
    "serve_fake_upstream",
]
