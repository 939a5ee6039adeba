"""Fakes shipped with keyproxy for its tests and for users testing their setups: clock, upstream, server."""

from keyproxy.testing.clock import FakeClock
from keyproxy.testing.fake_upstream import DEFAULT_MODELS, FakeUpstream
from keyproxy.testing.faults import Fault, FaultKind
from keyproxy.testing.journal import KeyStats, ReceivedRequest
from keyproxy.testing.server import BackgroundServer, serve_fake_upstream

__all__ = [
    "DEFAULT_MODELS",
    "BackgroundServer",
    "FakeClock",
    "FakeUpstream",
    "Fault",
    "FaultKind",
    "KeyStats",
    "ReceivedRequest",
    "serve_fake_upstream",
]
