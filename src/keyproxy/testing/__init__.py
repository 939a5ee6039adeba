"""Fakes shipped with keyproxy for its tests and for users testing their setups: clock, upstream, server.

FakeUpstream speaks OpenAI (under its prefix, /v1 by default), Anthropic Messages (/v1/messages) and
Gemini (/v1beta/models); a model named GEMINI_BLOCKED_MODEL gets Gemini's blocked-prompt answer.
"""

from keyproxy.testing._gemini_generate import BLOCKED_MODEL as GEMINI_BLOCKED_MODEL
from keyproxy.testing.clock import FakeClock
from keyproxy.testing.fake_upstream import DEFAULT_MODELS, FakeUpstream
from keyproxy.testing.faults import Fault, FaultKind
from keyproxy.testing.journal import KeyStats, ReceivedRequest
from keyproxy.testing.server import BackgroundServer, serve_fake_upstream

__all__ = [
    "DEFAULT_MODELS",
    "GEMINI_BLOCKED_MODEL",
    "BackgroundServer",
    "FakeClock",
    "FakeUpstream",
    "Fault",
    "FaultKind",
    "KeyStats",
    "ReceivedRequest",
    "serve_fake_upstream",
]
