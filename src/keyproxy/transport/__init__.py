"""Upstream I/O behind one seam: the Transport protocol, the aiohttp implementation, and a mock."""

from keyproxy.transport.base import RequestTimeouts, Transport, UpstreamRequest, UpstreamResponse
from keyproxy.transport.mock import MockResponse, MockTransport

__all__ = ["MockResponse", "MockTransport", "RequestTimeouts", "Transport", "UpstreamRequest", "UpstreamResponse"]
