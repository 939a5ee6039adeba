"""Upstream I/O behind one seam: the Transport protocol, the HTTP/1.1 client, and a mock."""

from keyproxy.transport.base import RequestTimeouts, Transport, UpstreamRequest, UpstreamResponse
from keyproxy.transport.mock import MockResponse, MockTransport

__all__ = ["MockResponse", "MockTransport", "RequestTimeouts", "Transport", "UpstreamRequest", "UpstreamResponse"]
